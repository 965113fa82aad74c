// The live page: camera → wasm engine → canvases. All computation is in
// the wasm module (web/ + shared/); this file owns the DOM, the camera and
// the frame loop, and publishes `window.furpeStats` for tests and readers.
import init, { LiveEngine, version } from './pkg/furpe_web.js';

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const preferGpu = query.get('backend') !== 'cpu';
// Largest frame side sent to the network (bigger frames are scaled down:
// the student's crop is 64 to 128 px, and copying pixels costs time).
const MAX_SIDE = 320;
// Students tried in order at start-up; the first that loads runs.
const STUDENTS = [
  { url: 'models/student.furpe', name: 'models/student.furpe (yours)' },
  {
    url: 'models/default-student.furpe',
    name: 'models/default-student.furpe (the committed default: scripts/train-default-student.sh, trained on the synthetic world)',
  },
];

const stats = { status: 'loading', frames: 0, errors: [], messages: [] };
window.furpeStats = stats;

function show(text, kind = 'info') {
  const box = $('message');
  box.textContent = text;
  box.className = kind;
  stats.messages.push({ kind, text });
  if (kind === 'error') console.error(text); else console.log(text);
}

function cameraMessage(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera permission was refused. Allow the camera for this page (the address bar\'s camera icon) and reload. ' +
        'Nothing is uploaded: frames never leave the page.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a webcam and reload.';
    case 'NotReadableError':
      return 'The camera is in use by another application. Close it and reload.';
    default:
      return `The camera could not be opened: ${err && err.message ? err.message : err}`;
  }
}

async function loadFile(engine, file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const magic = String.fromCharCode(...bytes.slice(0, 8));
  const isStudent = file.name.endsWith('.furpe') || magic === 'FURPESTU';
  const isNpz = file.name.endsWith('.npz') || magic.startsWith('PK');
  try {
    if (isStudent) {
      const label = engine.load_student(bytes, file.name);
      $('student').textContent = label;
      show(`Loaded the student ${file.name}.`);
    } else if (isNpz) {
      const label = engine.load_body_model(bytes, file.name);
      $('model').textContent = label;
      show(`Loaded the body model ${label}.`);
    } else {
      throw new Error(`${file.name}: not an SMPL-X .npz or an exported student .furpe`);
    }
    stats.lastFile = { name: file.name, ok: true };
  } catch (e) {
    stats.lastFile = { name: file.name, ok: false, error: String(e.message || e) };
    show(`Could not use ${file.name}: ${e.message || e}. The page keeps the previous one.`, 'error');
  }
}

function setupDrop(engine) {
  const drop = $('drop');
  for (const target of [document.body]) {
    target.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
    target.addEventListener('dragleave', () => drop.classList.remove('over'));
    target.addEventListener('drop', async (ev) => {
      ev.preventDefault();
      drop.classList.remove('over');
      for (const file of ev.dataTransfer.files) await loadFile(engine, file);
    });
  }
  $('file').addEventListener('change', async (ev) => {
    for (const file of ev.target.files) await loadFile(engine, file);
  });
  $('mannequin').addEventListener('click', () => {
    try { $('model').textContent = engine.use_mannequin(); show('Back to the embedded mannequin.'); }
    catch (e) { show(String(e.message || e), 'error'); }
  });
  $('smoothing').addEventListener('change', (ev) => engine.set_smoothing(ev.target.checked));
  // Orbit the side view by dragging.
  const side = $('side');
  let last = null;
  side.addEventListener('pointerdown', (ev) => { last = [ev.clientX, ev.clientY]; side.setPointerCapture(ev.pointerId); });
  side.addEventListener('pointermove', (ev) => {
    if (!last) return;
    engine.orbit((ev.clientX - last[0]) * 0.01, (ev.clientY - last[1]) * 0.01);
    last = [ev.clientX, ev.clientY];
  });
  side.addEventListener('pointerup', () => { last = null; });
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('this page needs https or localhost for camera access'), { name: 'SecurityError' });
  }
  return navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
}

const MODE_NAMES = {
  experts: 'experts (MediaPipe → SMPL-X fit)',
  head: 'pose-head student (MediaPipe embedding → MLP)',
  student: 'student (FuRPE network)',
};

// Names of the per-stage times the engine reports, in the readout's order.
const STAGES = [
  ['find', 'person (MediaPipe)'], ['landmarks', 'landmarks (MediaPipe)'], ['fit', 'SMPL-X fit'],
  ['head', 'pose head'],
  ['crop', 'crop'], ['student', 'student'], ['body', 'SMPL-X'],
];

// One frame through the engine: directly, or with the person the worker
// found. The student runs on every new frame, in the crop around the
// latest person found (its landmarks lag by the worker's time); the fits and
// the pose head run once per person found, on the frame it was found in.
// Resolves to the engine's stats, or null when there is nothing new to do.
async function stepFrame(engine, finder, pixels, w, h) {
  if (!finder) return engine.step(pixels, w, h);
  if (finder.failed) {
    // The worker stopped: say so once and run every stage in this thread.
    if (!finder.reported) {
      finder.reported = true;
      stats.worker = false;
      show(`MediaPipe's worker failed (${finder.failed}); the page now runs its models in its own thread.`, 'error');
    }
    return engine.step(pixels, w, h);
  }
  if (!finder.busy) finder.send(pixels, w, h);
  const latest = finder.latest;
  if (!latest) return null;
  if (engine.mode() === 'student') {
    if (latest.width !== w || latest.height !== h) return null;
    return engine.step_with(pixels, w, h, latest.person, latest.ms);
  }
  if (!finder.fresh) return null;
  finder.fresh = false;
  return engine.step_with(latest.pixels, latest.width, latest.height, latest.person, latest.ms);
}

function readout(s, capture) {
  const ms = s.ms;
  const pad = (t) => t.padEnd(22);
  const lines = [
    `${pad('mode')}${MODE_NAMES[s.mode] || s.mode}`,
    `${pad('backend')}${s.backend}`,
    `${pad('frame')}${s.frame}   fps ${s.fps.toFixed(1)}`,
    `${pad('capture')}${capture.toFixed(1)} ms`,
  ];
  if (s.pipelined) lines.push(`${pad('MediaPipe')}in a worker, beside the engine`);
  for (const [key, name] of STAGES) if (key in ms) lines.push(`${pad(name)}${ms[key].toFixed(1)} ms`);
  lines.push(`${pad('render')}${ms.render.toFixed(1)} ms (${s.drawn_by || 'off'})`);
  lines.push(`${pad('total')}${(ms.total + capture).toFixed(1)} ms`);
  if (!s.person) {
    lines.push('', 'no person in view');
  } else {
    lines.push(`${pad('camera')}s=${s.camera[0]?.toFixed(2)} t=(${s.camera[1]?.toFixed(2)}, ${s.camera[2]?.toFixed(2)})`);
    lines.push(`${pad('crop box')}(${s.crop.cx.toFixed(0)}, ${s.crop.cy.toFixed(0)}) side ${s.crop.side.toFixed(0)} px`);
    lines.push(`${pad('finite')}${s.finite}`);
  }
  return lines.join('\n');
}

// MediaPipe's models for the experts mode (and the student's person crop),
// copied next to the page by `scripts/web.sh build` from the npm package.
// `?parts=body` loads the body models only (faster; no hands or face).
async function loadExperts(engine) {
  const fetchModel = async (name, required) => {
    try {
      const response = await fetch(`mediapipe/${name}.tflite`);
      if (response.ok) return new Uint8Array(await response.arrayBuffer());
    } catch (_) { /* reported below */ }
    if (required) throw new Error(`mediapipe/${name}.tflite is missing`);
    return new Uint8Array(0);
  };
  const bodyOnly = query.get('parts') === 'body';
  try {
    const detector = await fetchModel('pose_detection', true);
    const landmarks = await fetchModel('pose_landmark_lite', true);
    const hand = bodyOnly ? new Uint8Array(0) : await fetchModel('hand_landmark_full', false);
    const face = bodyOnly ? new Uint8Array(0) : await fetchModel('face_landmark', false);
    const label = engine.load_experts(detector, landmarks, hand, face);
    $('experts').textContent = label;
    stats.experts = label;
    return { detector, landmarks, hand, face };
  } catch (e) {
    stats.experts = null;
    stats.expertsError = String(e.message || e);
    $('experts').textContent = 'not loaded';
    show(`The experts mode is unavailable (${e.message || e}): install MediaPipe's models with ` +
      '`npm ci --prefix models/mediapipe` and rerun `scripts/web.sh build`. The student mode still runs.', 'error');
    return null;
  }
}

// MediaPipe's models in a Web Worker (www/finder-worker.js): the worker finds
// the person in one frame while the engine fits (or runs the student on) the
// last person found, so the two stages overlap on two cores. Resolves to the
// started worker's handle, or null (no Worker support, `?worker=off`, or it
// failed to start: the page then runs every stage in its own thread).
async function startFinder(models, mode) {
  if (query.get('worker') === 'off' || typeof Worker === 'undefined') return null;
  let worker;
  try {
    worker = new Worker(new URL('finder-worker.js', import.meta.url), { type: 'module' });
  } catch (e) {
    show(`MediaPipe's models run in the page's thread (no module worker: ${e.message || e}).`);
    return null;
  }
  const finder = {
    worker, busy: false, nextId: 1, latest: null, fresh: false, minId: 0, failed: null,
    send(pixels, width, height) {
      const id = this.nextId++;
      this.busy = true;
      this.pending = { id, pixels, width, height };
      const copy = pixels.slice();
      worker.postMessage({ type: 'frame', id, pixels: copy, width, height }, [copy.buffer]);
    },
    setMode(m) { worker.postMessage({ type: 'mode', mode: m }); this.forget(); },
    reset() { worker.postMessage({ type: 'reset' }); this.forget(); },
    // Results of frames sent before this point are dropped.
    forget() { this.latest = null; this.fresh = false; this.minId = this.nextId; },
  };
  const ready = new Promise((resolve) => {
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === 'ready') resolve(true);
      else if (m.type === 'found') {
        finder.busy = false;
        if (m.id >= finder.minId && finder.pending && finder.pending.id === m.id) {
          finder.latest = { ...finder.pending, person: m.person, ms: m.ms };
          finder.fresh = true;
        }
      } else if (m.type === 'error') {
        finder.busy = false;
        finder.failed = m.message;
        resolve(false);
      }
    };
    worker.onerror = (ev) => { finder.failed = ev.message || 'the worker failed'; resolve(false); };
  });
  worker.postMessage({ type: 'load', ...models, mode });
  if (!(await ready)) {
    worker.terminate();
    show(`MediaPipe's models run in the page's thread (the worker failed: ${finder.failed}).`, 'error');
    return null;
  }
  return finder;
}

// A file next to the page, or null when it is not there (an optional model).
async function fetchBytes(url) {
  try {
    const response = await fetch(url);
    return response.ok ? new Uint8Array(await response.arrayBuffer()) : null;
  } catch (_) {
    return null;
  }
}

// The pose-head student (an MLP on the body model's embedding; it needs
// MediaPipe's models): yours if deployed next to the page
// (`models/head.furpe`), else the committed default.
const HEADS = ['models/head.furpe', 'models/default-head.furpe'];

async function loadHead(engine) {
  for (const url of HEADS) {
    const bytes = await fetchBytes(url);
    if (!bytes) continue;
    try {
      const label = engine.load_head(bytes, url);
      $('head').textContent = label;
      stats.head = url;
      return true;
    } catch (e) {
      show(`${url} could not be used (${e.message || e}); trying the next one.`, 'error');
    }
  }
  $('head').textContent = 'not loaded';
  return false;
}

function setupModes(engine, haveExperts, haveHead, onMode) {
  // The default: the mode that follows a person at the page's frame rate
  // (the pose head, ~12 fps on a laptop CPU), else the fits (~2-3 fps,
  // with hands and face), else the student.
  const wanted = query.get('mode') || (haveHead ? 'head' : haveExperts ? 'experts' : 'student');
  for (const input of document.querySelectorAll('input[name=mode]')) {
    input.disabled = (input.value === 'experts' && !haveExperts) || (input.value === 'head' && !haveHead);
    if (input.value === 'experts' && !haveExperts) $('experts').textContent = 'not loaded';
    input.checked = input.value === wanted;
    input.addEventListener('change', () => {
      try { engine.set_mode(input.value); stats.mode = engine.mode(); onMode(stats.mode); }
      catch (e) { show(String(e.message || e), 'error'); }
    });
  }
  try { engine.set_mode(wanted); } catch (e) { show(String(e.message || e), 'error'); }
  stats.mode = engine.mode();
}

// The smallest module with a 128-bit SIMD instruction: browsers without
// WebAssembly SIMD (which the page's CPU code is built with) reject it.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

async function main() {
  if (!WebAssembly.validate(SIMD_PROBE)) {
    stats.status = 'failed';
    stats.noSimd = true;
    show('This browser has no WebAssembly SIMD, which this page\'s code is built with (Chrome 91+, Firefox 89+, ' +
      'Safari 16.4+ have it). Update the browser to run the live page.', 'error');
    return;
  }
  await init();
  $('backend').textContent = preferGpu ? 'starting WebGPU…' : 'CPU (requested)';
  let engine;
  try {
    engine = await LiveEngine.create($('overlay'), $('side'), preferGpu, query.get('draw') !== 'cpu');
  } catch (e) {
    stats.status = 'failed';
    show(`The engine could not start: ${e.message || e}`, 'error');
    return;
  }
  window.furpeEngine = engine;
  stats.backend = engine.is_gpu() ? 'webgpu' : 'cpu';
  stats.backendDetail = engine.backend();
  $('drawer').textContent = stats.drawer = engine.drawer();
  $('backend').textContent = engine.backend();
  $('model').textContent = engine.body_model();
  $('student').textContent = engine.student();
  stats.version = version();
  setupDrop(engine);

  // The trained student: yours if one is deployed next to the page
  // (`models/student.furpe`, what scripts/main-job.sh exports; not
  // committed), else the committed default. `?student=random` keeps the
  // untrained network, for comparison.
  if (query.get('student') !== 'random') {
    for (const { url, name } of STUDENTS) {
      const bytes = await fetchBytes(url);
      if (!bytes) continue;
      try {
        $('student').textContent = engine.load_student(bytes, name);
        stats.studentFile = url;
        break;
      } catch (e) {
        show(`${url} could not be used (${e.message || e}); trying the next student.`, 'error');
      }
    }
  }
  stats.student = engine.student();
  // `?experts=off`: no MediaPipe models (the student crops around its own
  // last body, as without them).
  const models = query.get('experts') !== 'off' ? await loadExperts(engine) : null;
  const haveExperts = models !== null;
  let finder = null;
  setupModes(engine, haveExperts, haveExperts && await loadHead(engine), (mode) => finder && finder.setMode(mode));
  if (models) finder = await startFinder(models, engine.mode());
  stats.worker = finder !== null;
  window.furpeFinder = finder;
  // Forgets the tracked person, in the engine and in the worker (tests call
  // this when they switch the camera's picture).
  window.furpeResetTracking = () => { engine.reset_tracking(); if (finder) finder.reset(); };

  let stream;
  try {
    stream = await openCamera();
  } catch (e) {
    stats.status = 'no-camera';
    stats.cameraError = e.name || String(e);
    $('readout').textContent = 'no camera';
    show(cameraMessage(e), 'error');
    return;
  }
  const video = $('video');
  video.srcObject = stream;
  await video.play();
  stats.status = 'running';
  const grab = $('grab');
  const ctx = grab.getContext('2d', { willReadFrequently: true });

  const loop = async () => {
    // `furpeStats.pauseAfter = N` pauses once N frames are done (tests and
    // step-by-step debugging read exactly the N-th frame's result).
    if (stats.pauseAfter && stats.frames >= stats.pauseAfter) $('paused').checked = true;
    if (!$('paused').checked && video.readyState >= 2 && video.videoWidth > 0) {
      const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
      const w = Math.round(video.videoWidth * scale), h = Math.round(video.videoHeight * scale);
      stats.busy = true;
      const t0 = performance.now();
      if (grab.width !== w || grab.height !== h) { grab.width = w; grab.height = h; }
      ctx.drawImage(video, 0, 0, w, h);
      const pixels = ctx.getImageData(0, 0, w, h).data;
      const capture = performance.now() - t0;
      try {
        const s = await stepFrame(engine, finder, new Uint8Array(pixels.buffer), w, h);
        if (!s) { stats.busy = false; requestAnimationFrame(loop); return; }
        s.ms.capture = capture;
        Object.assign(stats, s, { frames: s.frame, width: w, height: h });
        $('overlay').classList.toggle('empty', !s.person);
        if (stats.drawer !== engine.drawer()) $('drawer').textContent = stats.drawer = engine.drawer();
        $('readout').textContent = readout(s, capture);
      } catch (e) {
        stats.errors.push(String(e.message || e));
        show(`Frame failed: ${e.message || e}`, 'error');
      }
      stats.busy = false;
    }
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}

main().catch((e) => {
  stats.status = 'failed';
  show(`The page failed to start: ${e.message || e}`, 'error');
});
