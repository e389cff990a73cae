// A webcam that takes a burst of snapshots in a row (ui/burst.py mounts it): the live camera, and one
// button that captures `count` frames `interval_ms` apart and sends them to Python as JPEG data URLs.
export default function ({ parentElement, data, setTriggerValue }) {
  const root = parentElement.querySelector(".burst");
  const video = root.querySelector("video");
  const button = root.querySelector("button");
  const status = root.querySelector(".status");
  const strip = root.querySelector(".strip");
  const { count, interval_ms: interval, label } = data;
  // Streamlit calls this again, on the same element, when the data or the theme change: one camera
  // stream and one observer per element, kept on it.
  const state = root.burst || (root.burst = { stream: null, starting: null, observer: null });
  button.textContent = label;

  const start = () => {
    if (!state.starting) {
      const wanted = { video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false };
      state.starting = navigator.mediaDevices.getUserMedia(wanted).then((stream) => {
        state.stream = stream;
        video.srcObject = stream;
        button.disabled = false;
        status.textContent = "";
        return video.play();
      }).catch((error) => {
        state.starting = null;
        status.textContent = `The camera cannot be used (${error.name}): allow this page to use it, ` +
          "or close other programs that hold it, then open this tab again.";
      });
    }
    return state.starting;
  };
  const stop = () => {
    if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
    state.stream = null;
    state.starting = null;
    video.srcObject = null;
    button.disabled = true;
  };
  // The camera is on only while the component is in view (its tab open), not from the page's load.
  if (state.observer) state.observer.disconnect();
  state.observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) start(); else stop();
  });
  state.observer.observe(root);

  const grab = () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return canvas.toDataURL("image/jpeg", 0.92);
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  button.onclick = async () => {
    button.disabled = true;
    await start();
    // Until the first frame has arrived (HAVE_CURRENT_DATA) a drawn video is blank.
    while (video.readyState < 2 || !video.videoWidth) await sleep(50);
    const frames = [];
    strip.replaceChildren();
    for (let i = 0; i < count; i++) {
      if (i) await sleep(interval);
      frames.push(grab());
      const thumb = document.createElement("img");
      thumb.src = frames[i];
      thumb.alt = `snapshot ${i + 1}`;
      strip.appendChild(thumb);
      status.textContent = `${i + 1} of ${count} taken`;
    }
    status.textContent = `${count} snapshots taken`;
    setTriggerValue("frames", frames);
    button.disabled = false;
  };
  return () => {
    if (state.observer) state.observer.disconnect();
    stop();
  };
}
