"""The dashboard's shared Streamlit code: where its folders are (`workspace`), the set-up call every page
starts with (`page`), cached calls into the library (`cached`), and drawing helpers (`draw`). Everything
computed is computed in `siamese/`; this package only remembers, caches and draws."""
