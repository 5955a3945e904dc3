// Draws the server's aggregated timeline on a canvas: a row per worker (colour: the stage that ran most in each
// slice; strength: how many tasks ran), and below them the tasks that committed per slice, stacked by stage.
import { stageColour, duration } from './dom.js';

const rowHeight = 16;
const labelWidth = 170;
const chartHeight = 60;
const axisHeight = 18;

export function drawTimeline(canvas, timeline, stages) {
  const buckets = timeline.rows[0]?.busy.length ?? timeline.commits[0]?.length ?? 0;
  // The width of the parent's content box (clientWidth counts its padding), less the canvas's 1 px borders.
  const parent = getComputedStyle(canvas.parentElement);
  const inner = canvas.parentElement.clientWidth - parseFloat(parent.paddingLeft) - parseFloat(parent.paddingRight);
  const width = Math.max(300, Math.floor(inner) - 2);
  const height = timeline.rows.length * rowHeight + chartHeight + axisHeight + 8;
  const scale = window.devicePixelRatio || 1;
  canvas.width = width * scale;
  canvas.height = height * scale;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.dataset.rows = timeline.rows.length;
  canvas.dataset.lengthMs = Math.round(timeline.lengthMs);
  const g = canvas.getContext('2d');
  g.scale(scale, scale);
  g.clearRect(0, 0, width, height);
  g.font = '12px system-ui, sans-serif';
  g.textBaseline = 'middle';
  if (buckets === 0) {
    g.fillStyle = '#666';
    g.fillText('No task has committed yet.', 8, 20);
    return;
  }
  const cell = (width - labelWidth) / buckets;
  const peak = Math.max(1, ...timeline.rows.flatMap(r => r.busy));
  timeline.rows.forEach((row, r) => {
    const y = r * rowHeight;
    g.fillStyle = '#333';
    g.fillText(clip(g, row.name, labelWidth - 8), 4, y + rowHeight / 2);
    g.fillStyle = '#f3f4f6';
    g.fillRect(labelWidth, y + 1, width - labelWidth, rowHeight - 2);
    row.busy.forEach((busy, b) => {
      if (busy <= 0 || row.stage[b] < 0) return;
      g.fillStyle = stageColour(row.stage[b], 0.25 + 0.75 * Math.min(1, busy / peak));
      // Whole pixels, edge to edge: a busy stretch is one band, not a comb of slices with seams between them.
      const left = Math.floor(labelWidth + b * cell);
      g.fillRect(left, y + 1, Math.max(1, Math.floor(labelWidth + (b + 1) * cell) - left), rowHeight - 2);
    });
  });

  // Commits per slice, stacked by stage.
  const top = timeline.rows.length * rowHeight + 6;
  const totals = Array.from({ length: buckets }, (_, b) => timeline.commits.reduce((sum, stage) => sum + stage[b], 0));
  const most = Math.max(1, ...totals);
  g.fillStyle = '#333';
  g.fillText('commits', 4, top + chartHeight / 2);
  for (let b = 0; b < buckets; b++) {
    let y = top + chartHeight;
    timeline.commits.forEach((stage, s) => {
      if (stage[b] === 0) return;
      const h = (chartHeight - 4) * stage[b] / most;
      g.fillStyle = stageColour(s, 0.9);
      g.fillRect(labelWidth + b * cell, y - h, Math.max(1, cell - 0.5), h);
      y -= h;
    });
  }

  // Time axis: five ticks.
  const axis = top + chartHeight + axisHeight / 2 + 2;
  g.fillStyle = '#555';
  for (let t = 0; t <= 4; t++) {
    // The first label starts at its tick, the last ends at it (so it is not cut off), the others centre on theirs.
    g.textAlign = t === 0 ? 'left' : t === 4 ? 'right' : 'center';
    g.fillText(duration(timeline.lengthMs * t / 4), labelWidth + (width - labelWidth - 2) * t / 4, axis);
  }
  g.textAlign = 'left';
}

function clip(g, text, width) {
  if (g.measureText(text).width <= width) return text;
  let cut = text;
  while (cut.length > 1 && g.measureText(`${cut}…`).width > width) cut = cut.slice(0, -1);
  return `${cut}…`;
}
