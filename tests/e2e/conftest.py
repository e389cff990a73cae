"""The real dashboard in a real browser: `streamlit run app.py` on a free port, driven by Debian's Chromium
through Playwright, with Chromium's fake webcam playing a Y4M file made here from a real ORL face.

One server serves the whole session; its runs, data and gallery live in a tmp folder found through the
SIAMESE_* environment variables. Each test gets a fresh browser context, so a fresh Streamlit session."""

from __future__ import annotations

import importlib.util
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ORL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "orl_faces"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
HOW_TO_ENABLE = "install chromium: apt-get install -y chromium; pip install -r requirements-test.txt"
PERSON_A, PERSON_B = "s1", "s2"
ORL_EPOCHS = 40  # the default ORL recipe: 5 steps an epoch

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

if not CHROMIUM.exists() or sync_playwright is None:
    missing = "playwright" if sync_playwright is None else str(CHROMIUM)
    SKIP_REASON = f"browser tests need {missing} ({HOW_TO_ENABLE})"
else:
    SKIP_REASON = None

_spec = importlib.util.spec_from_file_location("shared_conftest", ROOT / "tests" / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)


@pytest.fixture(autouse=True, scope="session")
def _need_browser():
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)


def need_orl() -> None:
    if not (ORL / PERSON_A).is_dir():
        pytest.skip(f"{ORL} is absent: this browser test needs real faces")


def webcam_frame(person: str, index: int = 1) -> Image.Image:
    """What the fake webcam shows: ORL face `person/index`, upscaled twice, centred on grey, 640x480 'L'."""
    face = Image.open(ORL / person / f"{index}.pgm").convert("L")
    face = face.resize((face.width * 2, face.height * 2), Image.Resampling.BILINEAR)
    frame = Image.new("L", (640, 480), 128)
    frame.paste(face, ((640 - face.width) // 2, (480 - face.height) // 2))
    return frame


def write_y4m(path: Path, frame: Image.Image, frames: int = 3) -> Path:
    """A grey 640x480 Y4M video of `frame` (4:2:0: full-size Y, quarter-size U and V, all 128 for grey)."""
    y = np.asarray(frame, dtype=np.uint8).tobytes()
    chroma = bytes([128]) * (frame.width // 2 * frame.height // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + y + chroma + chroma)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """{'root', 'runs', 'data', 'gallery'}: the server's folders; data holds synthetic identities (and ORL)."""
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    for identity in range(12):
        folder = data / "synthetic" / f"person_{identity:02d}"
        folder.mkdir(parents=True)
        for index in range(6):
            _shared.identity_image(identity, index, 32).save(folder / f"{index:03d}.png")
    if ORL.is_dir():
        (data / "orl").symlink_to(ORL)
    return {"root": root, "runs": root / "runs", "data": data, "gallery": root / "gallery"}


@pytest.fixture(scope="session")
def server(world):
    """The base URL of `streamlit run app.py`, started once and stopped at the end of the session."""
    port = free_port()
    env = {**os.environ, "SIAMESE_RUNS_DIR": str(world["runs"]), "SIAMESE_DATA_DIR": str(world["data"]),
           "SIAMESE_GALLERY_DIR": str(world["gallery"]), "PYTHONUNBUFFERED": "1"}
    log = open(world["root"] / "streamlit.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not start: {(world['root'] / 'streamlit.log').read_text()[-2000:]}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def orl_run(world, request):
    """A run trained on ORL by the command line for a fixed number of epochs (not seconds: the same model
    on a fast or a slow machine), with its threshold set between the genuine and impostor distances of the
    photos the tests give it, measured on the path the browser uses: the webcam frames of A and B as
    Chromium captured them (`captured`) and the uploaded photos of A and B. The margin is checked."""
    need_orl()
    from siamese.faces.prepare import face_tensor, photo_cut, prepare_face
    from siamese.decisions import save_threshold
    from siamese.runs.trained import load_trained

    out = world["runs"] / "orl"
    subprocess.run([sys.executable, "-m", "siamese", "--data-dir", str(world["data"]), "train", "--data", "orl",
                    "--epochs", str(ORL_EPOCHS), "--seed", "0", "--out", str(out), "--quiet"],
                   cwd=ROOT, check=True, capture_output=True)
    model = load_trained(out, device="cpu")
    captured = request.getfixturevalue("captured")  # now that there is a run, the Verify page has its camera

    def embed(photo):
        crop = prepare_face(photo, photo_cut(model.faces)).crop
        return model.embed(face_tensor(crop, model.config.input_size, model.config.colour))

    a_camera, b_camera = embed(captured[PERSON_A]), embed(captured[PERSON_B])
    a_upload, b_upload = (embed(webcam_frame(person, index).convert("RGB")) for person, index in
                          ((PERSON_A, 2), (PERSON_B, 1)))
    genuine = [float(model.distance(a_camera, a_upload))]
    impostor = [float(model.distance(a, b)) for a in (a_camera, a_upload) for b in (b_camera, b_upload)]
    gap = min(impostor) - max(genuine)
    assert gap > 0.1 * min(impostor), (f"the ORL run does not separate {PERSON_A} (up to {max(genuine):.3f}) "
                                       f"from {PERSON_B} (from {min(impostor):.3f}) with a margin")
    save_threshold(out, (max(genuine) + min(impostor)) / 2, "e2e: between the browser's photos of A and B")
    return out


# The photo a camera widget in the page holds, as the bytes Streamlit was sent (base64).
PHOTO_BYTES = """async img => {
  const blob = await (await fetch(img.src)).blob();
  return await new Promise(done => { const r = new FileReader();
    r.onload = () => done(r.result.split(',')[1]); r.readAsDataURL(blob); });
}"""


@pytest.fixture(scope="session")
def captured(server, launch_browser) -> dict[str, bytes]:
    """Person -> the photo Chromium's camera widget takes of the fake webcam showing them: what every test
    that takes a snapshot gets, compression and scaling included."""
    import base64

    need_orl()
    photos = {}
    for person in (PERSON_A, PERSON_B):
        context = launch_browser(person).new_context(viewport={"width": 1400, "height": 1100}, permissions=["camera"])
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server}/verify")
        page.wait_for_selector("h1")
        settle(page)
        page.get_by_role("tab", name="Enrol a person").click()
        camera = page.get_by_role("tabpanel", name="Enrol a person").locator("[data-testid='stCameraInput']")
        take_photo(page, camera)
        photos[person] = base64.b64decode(camera.locator("img").evaluate(PHOTO_BYTES))
        context.close()
        shown = np.asarray(Image.open(io.BytesIO(photos[person])).convert("L").resize((32, 24)), dtype=float)
        expected = np.asarray(webcam_frame(person).resize((32, 24)), dtype=float)
        if np.corrcoef(shown.ravel(), expected.ravel())[0, 1] < 0.9:
            SCREENSHOTS.mkdir(exist_ok=True)
            (SCREENSHOTS / f"captured-{person}.jpg").write_bytes(photos[person])
            raise AssertionError(f"the camera widget's photo of {person} is not the fake webcam's frame: "
                                 f"see {SCREENSHOTS / f'captured-{person}.jpg'}")
    return photos


# True once the camera widget's video shows a frame that is not black: its Take Photo button is enabled as
# soon as the camera is granted, and a photo taken before the first frame is black. The frame itself is
# read back through a canvas, whatever the video's clock says.
VIDEO_HAS_A_FRAME = """v => {
  if (v.readyState < 2 || v.videoWidth === 0) return false;
  const canvas = document.createElement('canvas');
  canvas.width = 16; canvas.height = 12;
  const context = canvas.getContext('2d');
  context.drawImage(v, 0, 0, 16, 12);
  return context.getImageData(0, 0, 16, 12).data.some((value, i) => i % 4 !== 3 && value > 16);
}"""


def take_photo(page, camera) -> None:
    """Take a photo with the webcam widget `camera` once its video shows a frame; wait for the photo."""
    from playwright.sync_api import expect

    camera.locator("video").wait_for()
    video = camera.locator("video").element_handle()
    # Headless Chromium can leave the widget's video paused on a black frame under its autoplay policy,
    # where a browser a person uses plays a granted camera at once: it is started as that browser would.
    video.evaluate("v => v.paused && v.play().catch(() => null)")
    page.wait_for_function(VIDEO_HAS_A_FRAME, arg=video, timeout=30_000)
    camera.get_by_role("button", name="Take Photo").click()
    expect(camera.locator("img")).to_be_visible(timeout=15_000)


@pytest.fixture(scope="session")
def playwright_instance():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def launch_browser(playwright_instance, tmp_path_factory):
    """Factory: a Chromium whose fake webcam shows `person` (an ORL folder name), or Chromium's own test
    pattern when None. The fake capture file is per process, hence one browser per person."""
    browsers = {}
    folder = tmp_path_factory.mktemp("webcam")

    def launch(person: str | None):
        if person not in browsers:
            args = ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage",
                    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
            if person:
                video = write_y4m(folder / f"{person}.y4m", webcam_frame(person))
                args.append(f"--use-file-for-fake-video-capture={video}")
            browsers[person] = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=args)
        return browsers[person]

    yield launch
    for browser in browsers.values():
        browser.close()


@pytest.fixture
def open_page(server, launch_browser):
    """Factory: a fresh session (new browser context) on `path` of the app, settled, for `person`'s webcam."""
    contexts = []

    def open_(path: str = "", person: str | None = None):
        context = launch_browser(person).new_context(viewport={"width": 1400, "height": 1100},
                                                    permissions=["camera"])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{server}/{path}")
        page.wait_for_selector("h1")
        settle(page)
        return page

    yield open_
    for context in contexts:
        context.close()


def settle(page, timeout: float = 60) -> None:
    """Wait until Streamlit has finished running the script (no running indicator for a moment)."""
    deadline, quiet = time.time() + timeout, 0
    while time.time() < deadline:
        busy = page.locator("[data-testid='stStatusWidget']").count() + page.locator("[data-testid='stSpinner']").count()
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            return
        page.wait_for_timeout(150)
    raise AssertionError("the app was still running after {timeout} s")


def choose_run(page, name: str) -> None:
    """Make `name` the current run with the sidebar's selectbox (a fresh session picks the newest)."""
    box = page.locator("[data-testid='stSidebar']").get_by_role("combobox", name="Current run")
    if box.input_value() == name:
        return
    box.click()
    page.get_by_role("option", name=name, exact=True).click()
    settle(page)
    assert box.input_value() == name


def screenshot(page, name: str, top=None) -> None:
    """Save the window as screenshots/NAME.png, scrolled so that locator `top` is at its top if given
    (Streamlit scrolls its main block, not the document, so a full-page shot shows no more)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    if top is not None:
        top.first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(1, 1)  # no tooltip left over from the last click
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# The y values of the trace named `name` in the plotly chart inside element `el`; TRACE_STEPS its x values.
TRACE_VALUES = """(el, name) => {
  const gd = el.querySelector('.js-plotly-plot');
  const trace = gd && gd.data && gd.data.find(t => t.name === name);
  return trace ? Array.from(trace.y) : [];
}"""
TRACE_STEPS = TRACE_VALUES.replace("trace.y", "trace.x")


def open_enrolment(page, name: str):
    """The Verify page's enrol tab, with `name` typed as the person to enrol: the tab's panel."""
    page.get_by_role("tab", name="Enrol a person").click()
    enrol = page.get_by_role("tabpanel", name="Enrol a person")
    enrol.get_by_label("Name of the person to enrol").fill(name)
    enrol.get_by_label("Name of the person to enrol").press("Enter")
    settle(page)
    return enrol


@pytest.fixture
def ui():
    """The helpers above, for the test modules (a conftest is not imported by name)."""
    from types import SimpleNamespace

    from playwright.sync_api import expect
    return SimpleNamespace(settle=settle, choose_run=choose_run, screenshot=screenshot, expect=expect,
                           trace_values=TRACE_VALUES, trace_steps=TRACE_STEPS, open_enrolment=open_enrolment,
                           webcam_frame=webcam_frame, take_photo=take_photo, person_a=PERSON_A, person_b=PERSON_B, orl=ORL)
