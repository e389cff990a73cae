// Faces on hover for the plotly charts inside the container with key KEY. Streamlit's plotly chart cannot
// put images in hover labels, so this script, which st.html runs in the page itself (no iframe), listens to
// each chart's plotly_hover events and shows the hovered point's face in a box beside the pointer. The
// faces are in the figure's layout.meta.faces, by the row each point keeps first in its customdata: not in
// the customdata itself, which a selection sends back to the server for every selected point.
(() => {
  const KEY = __KEY__;
  const host = document.currentScript.parentElement;
  const box = document.createElement("div");
  box.className = "face-hover";
  box.style.cssText = "position:fixed;display:none;z-index:1000;pointer-events:none;background:#fff;" +
    "border:1px solid #bbb;border-radius:6px;padding:6px;text-align:center;font:12px sans-serif;" +
    "max-width:160px;word-break:break-all;box-shadow:0 2px 8px rgba(0,0,0,.2)";
  const face = document.createElement("img");
  face.width = face.height = 112;
  face.style.cssText = "display:block;margin:0 auto 4px;image-rendering:pixelated";
  const identity = document.createElement("b");
  const file = document.createElement("div");
  file.style.color = "#666";
  box.append(face, identity, file);
  document.body.append(box);
  // Where the pointer is: 3-D charts' hover events do not carry the mouse event.
  let pointer = {x: 0, y: 0};
  const track = (e) => { pointer = {x: e.clientX, y: e.clientY}; };
  document.addEventListener("mousemove", track, true);

  function show(gd, e) {
    const point = e.points && e.points[0];
    if (!point || !point.customdata) return;
    const uri = ((gd.layout.meta || {}).faces || [])[point.customdata[0]];
    face.style.display = uri ? "block" : "none";
    if (uri) face.src = uri;
    // Text, never HTML: identity and file names come from folder and file names.
    identity.textContent = point.customdata[1];
    file.textContent = point.customdata[2];
    box.style.display = "block";
    const right = pointer.x + 16 + box.offsetWidth <= window.innerWidth;
    box.style.left = (right ? pointer.x + 16 : pointer.x - 16 - box.offsetWidth) + "px";
    box.style.top = Math.max(4, Math.min(pointer.y + 16, window.innerHeight - box.offsetHeight - 4)) + "px";
  }
  const hide = () => { box.style.display = "none"; };

  const timer = setInterval(() => {
    if (!host.isConnected) {  // another page is shown: this script's element is gone
      clearInterval(timer);
      document.removeEventListener("mousemove", track, true);
      box.remove();
      return;
    }
    // A chart drawn since, or one whose event emitter plotly made anew (it does when it re-plots).
    for (const gd of document.querySelectorAll(".st-key-" + KEY + " .js-plotly-plot")) {
      if (gd._ev && gd.faceHover !== gd._ev) {
        gd.on("plotly_hover", (e) => show(gd, e));
        gd.on("plotly_unhover", hide);
        gd.faceHover = gd._ev;
      }
    }
  }, 250);
})();
