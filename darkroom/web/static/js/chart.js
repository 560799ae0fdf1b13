/**
 * A hand-drawn line chart on <canvas> for the last minutes of CPU, memory and
 * disk use (percent, 0-100). No library: a few lines, a grid and a legend.
 * The time axis spans the history it holds: one minute at least, five at most.
 */

export class ResourceChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{key: string, label: string, color: string}[]} series
   * @param {number} windowMs how much history to keep and show
   * @param {{now: () => string, ago: (ms: number) => string}} words the axis labels
   *   (the page's language; series labels are read at each paint, so they may be getters)
   */
  constructor(canvas, series, windowMs = 5 * 60 * 1000, words = {
    now: () => "now",
    ago: (ms) => (ms >= 120000 ? `-${Math.round(ms / 60000)} min` : `-${Math.round(ms / 1000)} s`),
  }) {
    this.canvas = canvas;
    this.words = words;
    this.series = series;
    this.windowMs = windowMs;
    this.points = [];
    this._frame = 0;
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Add one sample ({cpu: 12.5, memory: 40, ...}) taken at `time` (ms). */
  add(time, values) {
    this.points.push({ time, values });
    const oldest = time - this.windowMs;
    while (this.points.length && this.points[0].time < oldest) this.points.shift();
    this.draw();
  }

  draw() {
    if (this._frame) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this._paint();
    });
  }

  _paint() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const left = 30;
    const right = 6;
    const top = 18;
    const bottom = 16;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const style = getComputedStyle(canvas);
    const grid = style.getPropertyValue("--line").trim() || "#333";
    const muted = style.getPropertyValue("--muted").trim() || "#999";

    ctx.font = "10px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.strokeStyle = grid;
    ctx.fillStyle = muted;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const pct of [0, 25, 50, 75, 100]) {
      const y = top + plotH - (pct / 100) * plotH;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + plotW, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(`${pct}%`, left - 4, y);
    }
    // Show the history there is (at least a minute), up to the whole window.
    const now = this.points.length ? this.points[this.points.length - 1].time : Date.now();
    const span = this.points.length ? now - this.points[0].time : 0;
    const range = Math.min(this.windowMs, Math.max(60 * 1000, span));
    const start = now - range;
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillText(this.words.ago(range), left, height - 3);
    ctx.textAlign = "right";
    ctx.fillText(this.words.now(), left + plotW, height - 3);

    const x = (t) => left + ((t - start) / range) * plotW;
    const y = (v) => top + plotH - (Math.max(0, Math.min(100, v)) / 100) * plotH;
    let legendX = left;
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    for (const s of this.series) {
      const pts = this.points.filter((p) => typeof p.values[s.key] === "number");
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      pts.forEach((p, i) => {
        if (i === 0) ctx.moveTo(x(p.time), y(p.values[s.key]));
        else ctx.lineTo(x(p.time), y(p.values[s.key]));
      });
      if (pts.length === 1) {
        ctx.arc(x(pts[0].time), y(pts[0].values[s.key]), 2, 0, Math.PI * 2);
      }
      ctx.stroke();
      const last = pts.length ? ` ${pts[pts.length - 1].values[s.key].toFixed(0)}%` : "";
      const label = `${s.label}${last}`;
      ctx.fillRect(legendX, 4, 8, 8);
      ctx.fillStyle = muted;
      ctx.fillText(label, legendX + 11, 2);
      legendX += ctx.measureText(label).width + 24;
    }
  }
}

const HISTOGRAM_SERIES = [["r", "rgba(224, 83, 61, 0.55)"], ["g", "rgba(76, 175, 122, 0.55)"],
  ["b", "rgba(90, 160, 224, 0.55)"]];

/**
 * The RGB + luminance histogram on `canvas` from `histogram` ({r, g, b, l}:
 * equal-length lists of counts): the channels as translucent areas added
 * together (where all three overlap it reads grey, as in Lightroom), the
 * luminance as a line, all scaled to the tallest bin. Nothing (cleared) when
 * there is no histogram.
 */
export function drawHistogram(canvas, histogram) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const valid = histogram && ["r", "g", "b", "l"].every((k) => Array.isArray(histogram[k]) && histogram[k].length);
  canvas.dataset.drawn = valid ? "yes" : "no";
  if (!valid) return;
  const bins = histogram.l.length;
  const peak = Math.max(1, ...["r", "g", "b", "l"].flatMap((k) => histogram[k].map(Number).filter(Number.isFinite)));
  const x = (i) => (i / (bins - 1)) * width;
  const y = (v) => height - (Math.max(0, Number(v) || 0) / peak) * (height - 2);
  ctx.globalCompositeOperation = "lighter";
  for (const [key, colour] of HISTOGRAM_SERIES) {
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.moveTo(0, height);
    histogram[key].forEach((v, i) => ctx.lineTo(x(i), y(v)));
    ctx.lineTo(width, height);
    ctx.closePath();
    ctx.fill();
  }
  ctx.globalCompositeOperation = "source-over";
  ctx.strokeStyle = "rgba(232, 230, 227, 0.9)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  histogram.l.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke();
}
