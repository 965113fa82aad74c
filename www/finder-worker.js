// The live page's person finder, in a Web Worker: MediaPipe's models run
// here on one frame while the page's engine fits SMPL-X to (or runs the
// student on) the person found in the previous one, so on two cores the
// two stages overlap instead of adding up. Same wasm module as the page
// (`PersonFinder`, web/src/finder.rs); frames come in as RGBA bytes, people
// go back as bytes for `LiveEngine.step_with`. Nothing leaves the page.
import init, { PersonFinder } from './pkg/furpe_web.js';

let finder = null;

self.onmessage = async (event) => {
  const m = event.data;
  try {
    if (m.type === 'load') {
      await init();
      finder = new PersonFinder(m.detector, m.landmarks, m.hand, m.face);
      finder.set_mode(m.mode);
      self.postMessage({ type: 'ready' });
    } else if (m.type === 'mode') {
      finder.set_mode(m.mode);
    } else if (m.type === 'reset') {
      finder.reset();
    } else if (m.type === 'frame') {
      const t0 = performance.now();
      const person = finder.find(m.pixels, m.width, m.height);
      const ms = performance.now() - t0;
      self.postMessage({ type: 'found', id: m.id, person, ms }, person ? [person.buffer] : []);
    }
  } catch (e) {
    self.postMessage({ type: 'error', id: m.id, message: String((e && e.message) || e) });
  }
};
