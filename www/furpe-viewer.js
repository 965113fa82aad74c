// <furpe-viewer src="result.json">: an embeddable SMPL-X result viewer.
//
//   <script type="module" src="furpe-viewer.js"></script>
//   <furpe-viewer src="result.json" style="width: 480px; height: 480px"></furpe-viewer>
//
// Attributes: src (a result: SMPL-X parameters, an array of them, or
// {"fps", "frames"}; see shared/src/smplx/params.rs), skeleton (show the
// skeleton), autoplay, cpu (skip WebGPU). JS API on the element:
//   await el.ready;            el.load(urlOrJsonTextOrObject)
//   el.play(); el.pause();     el.frame = 3; el.frames; el.playing
//   el.skeleton = true;        el.orbit(dyaw, dpitch)
//   el.glb() → Uint8Array;     el.downloadGlb('body.glb')
//   el.loadBodyModel(file)     (an SMPL-X .npz File/Blob/ArrayBuffer)
// Events: 'load' (detail: {frames}), 'error' (detail: {message}), 'frame'.
// Rendering is WebGPU when available, else a CPU rasteriser; the result
// never leaves the page.
import init, { Viewer } from './pkg/furpe_web.js';

let wasmReady = null;
const wasm = () => (wasmReady ??= init(new URL('./pkg/furpe_web_bg.wasm', import.meta.url)));

const STYLE = `
:host { display: inline-block; position: relative; width: 400px; height: 400px; font: 13px system-ui, sans-serif; }
.stage { position: absolute; inset: 0 0 34px 0; }
canvas { position: absolute; inset: 0; width: 100%; height: 100%; touch-action: none; }
canvas.skeleton { pointer-events: none; }
.bar { position: absolute; left: 0; right: 0; bottom: 0; height: 30px; display: flex; gap: 6px; align-items: center; }
.bar input[type=range] { flex: 1; }
.msg { position: absolute; left: 8px; top: 8px; right: 8px; color: #7a1010; background: #ffe6e6cc; padding: 4px 6px; border-radius: 4px; display: none; }
.msg.show { display: block; }
`;

class FurpeViewer extends HTMLElement {
  static observedAttributes = ['src', 'skeleton'];
  #viewer = null;
  #timer = null;
  #skeleton = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style>
      <div class="stage"><canvas class="gl"></canvas><canvas class="skeleton"></canvas></div>
      <div class="msg" part="message"></div>
      <div class="bar" part="controls">
        <button class="play" title="play / pause">▶</button>
        <input class="scrub" type="range" min="0" max="0" value="0" title="frame">
        <span class="count">0/0</span>
        <label><input class="skel" type="checkbox"> skeleton</label>
        <button class="glb" title="download the current frame as glTF (mesh + skeleton)">GLB</button>
      </div>`;
    this.$ = (sel) => root.querySelector(sel);
    this.ready = new Promise((resolve, reject) => { this._resolve = resolve; this._reject = reject; });
  }

  connectedCallback() {
    if (this.#viewer || this._starting) return;
    this._starting = true;
    this.#start().then(this._resolve, (e) => { this.#error(e); this._reject(e); });
  }

  attributeChangedCallback(name, _old, value) {
    if (!this.#viewer) return;
    if (name === 'src' && value) this.load(value).catch(() => {});
    if (name === 'skeleton') this.skeleton = value !== null;
  }

  async #start() {
    await wasm();
    const gl = this.$('canvas.gl');
    this.#size(gl);
    this.#viewer = await Viewer.create(gl, !this.hasAttribute('cpu'));
    this.dataset.backend = this.#viewer.backend();
    this.#skeleton = this.hasAttribute('skeleton');
    this.$('.skel').checked = this.#skeleton;
    this.#wire(gl);
    new ResizeObserver(() => { this.#size(gl); this.render(); }).observe(this);
    if (this.getAttribute('src')) await this.load(this.getAttribute('src'));
    else this.render();
  }

  #size(gl) {
    const r = this.$('.stage').getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (this.#viewer) this.#viewer.resize(w, h); else { gl.width = w; gl.height = h; }
    const sk = this.$('canvas.skeleton');
    sk.width = w; sk.height = h;
  }

  #wire(gl) {
    let last = null;
    gl.addEventListener('pointerdown', (ev) => { last = [ev.clientX, ev.clientY]; gl.setPointerCapture(ev.pointerId); });
    gl.addEventListener('pointermove', (ev) => {
      if (!last) return;
      this.orbit((ev.clientX - last[0]) * 0.01, (ev.clientY - last[1]) * 0.01);
      last = [ev.clientX, ev.clientY];
    });
    gl.addEventListener('pointerup', () => { last = null; });
    gl.addEventListener('wheel', (ev) => { ev.preventDefault(); this.#viewer.zoom(Math.exp(ev.deltaY * 0.001)); this.render(); }, { passive: false });
    this.$('.play').addEventListener('click', () => (this.playing ? this.pause() : this.play()));
    this.$('.scrub').addEventListener('input', (ev) => { this.pause(); this.frame = Number(ev.target.value); });
    this.$('.skel').addEventListener('change', (ev) => { this.skeleton = ev.target.checked; });
    this.$('.glb').addEventListener('click', () => this.downloadGlb());
  }

  #error(e) {
    const message = String((e && e.message) || e);
    const box = this.$('.msg');
    box.textContent = message;
    box.classList.add('show');
    this.dispatchEvent(new CustomEvent('error', { detail: { message } }));
  }

  /** Loads a result: a URL, JSON text, or an already parsed object. */
  async load(source) {
    await (this.#viewer ? null : this.ready);
    let text, name;
    if (typeof source === 'string' && !source.trim().startsWith('{') && !source.trim().startsWith('[')) {
      const response = await fetch(source);
      if (!response.ok) { const e = new Error(`${source}: HTTP ${response.status}`); this.#error(e); throw e; }
      text = await response.text(); name = source;
    } else {
      text = typeof source === 'string' ? source : JSON.stringify(source); name = 'result';
    }
    let frames;
    try { frames = this.#viewer.load_result(text, name); } catch (e) { this.#error(e); throw e; }
    this.$('.msg').classList.remove('show');
    const scrub = this.$('.scrub');
    scrub.max = String(frames - 1); scrub.value = '0';
    this.render();
    this.dispatchEvent(new CustomEvent('load', { detail: { frames } }));
    if (this.hasAttribute('autoplay') && frames > 1) this.play();
    return frames;
  }

  async loadBodyModel(file) {
    const bytes = new Uint8Array(file instanceof ArrayBuffer ? file : await file.arrayBuffer());
    try { const label = this.#viewer.load_body_model(bytes, file.name || 'model.npz'); this.render(); return label; }
    catch (e) { this.#error(e); throw e; }
  }

  get frames() { return this.#viewer ? this.#viewer.frame_count() : 0; }
  get frame() { return this.#viewer ? this.#viewer.frame() : 0; }
  set frame(i) { this.#viewer.set_frame(i); this.$('.scrub').value = String(this.#viewer.frame()); this.render(); this.dispatchEvent(new CustomEvent('frame', { detail: { frame: this.frame } })); }
  get playing() { return this.#timer !== null; }
  get skeleton() { return this.#skeleton; }
  set skeleton(on) { this.#skeleton = !!on; this.$('.skel').checked = this.#skeleton; this.render(); }
  get backend() { return this.#viewer ? this.#viewer.backend() : ''; }

  play() {
    if (this.#timer !== null || this.frames < 2) return;
    this.$('.play').textContent = '❚❚';
    this.#timer = setInterval(() => { this.frame = (this.frame + 1) % this.frames; }, 1000 / this.#viewer.fps());
  }

  pause() {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.$('.play').textContent = '▶';
  }

  orbit(dyaw, dpitch) { this.#viewer.orbit(dyaw, dpitch); this.render(); }

  glb() { return this.#viewer.glb(); }

  downloadGlb(name = 'furpe-body.glb') {
    let bytes;
    try { bytes = this.glb(); } catch (e) { this.#error(e); return; }
    const url = URL.createObjectURL(new Blob([bytes], { type: 'model/gltf-binary' }));
    const a = document.createElement('a');
    a.href = url; a.download = name; a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  render() {
    if (!this.#viewer) return;
    try { this.#viewer.render(); } catch (e) { this.#error(e); return; }
    this.$('.count').textContent = `${this.frames ? this.frame + 1 : 0}/${this.frames}`;
    const sk = this.$('canvas.skeleton');
    const ctx = sk.getContext('2d');
    ctx.clearRect(0, 0, sk.width, sk.height);
    if (!this.#skeleton) return;
    const p = this.#viewer.skeleton_2d();
    const parents = this.#viewer.parents();
    ctx.lineWidth = Math.max(2, sk.width / 200);
    ctx.strokeStyle = '#e0338a';
    ctx.fillStyle = '#1d2230';
    for (let j = 0; j < parents.length; j++) {
      const q = parents[j];
      if (q < 0 || Number.isNaN(p[2 * j]) || Number.isNaN(p[2 * q])) continue;
      ctx.beginPath(); ctx.moveTo(p[2 * j], p[2 * j + 1]); ctx.lineTo(p[2 * q], p[2 * q + 1]); ctx.stroke();
    }
    for (let j = 0; j < parents.length; j++) {
      if (Number.isNaN(p[2 * j])) continue;
      ctx.beginPath(); ctx.arc(p[2 * j], p[2 * j + 1], ctx.lineWidth * 1.2, 0, 2 * Math.PI); ctx.fill();
    }
  }
}

customElements.define('furpe-viewer', FurpeViewer);
export { FurpeViewer };
