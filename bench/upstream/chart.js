#!/usr/bin/env node
'use strict';
/* global require, module, process, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Draws upstream token calls vs instances from a run of bench/upstream/run.js as a hand-written SVG line chart
 * (log-scale y axis, one line per system, the theoretical minimum dashed, every point labelled).
 *
 *   node bench/upstream/chart.js [last-run.json] [out.svg]   (defaults: next to this file)
 */
const fs = require('node:fs');
const path = require('node:path');

const COLORS = { stable: '#1a7f37', legacy: '#0969da', cache: '#cf222e', timer: '#9a6700' };
const LABELS = {
  stable: 'wxhub, stable_token (default)',
  legacy: 'wxhub, tokenEndpoint "legacy"',
  cache: 'baseline a: per-instance cache',
  timer: 'baseline b: per-instance timer',
};

const esc = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The SVG text for `run` (the object run.js writes to last-run.json). */
function renderChart(run) {
  const W = 880;
  const H = 440;
  const m = { left: 70, right: 300, top: 50, bottom: 60 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const ns = [...new Set(run.results.map((r) => r.n))].sort((a, b) => a - b);
  const systems = [...new Set(run.results.map((r) => r.system))];
  const maxValue = Math.max(run.minimum, ...run.results.map((r) => r.upstreamCalls));
  const top = 10 ** Math.ceil(Math.log10(Math.max(10, maxValue * 1.05)));
  const pad = 35;
  const x = (n) =>
    m.left +
    pad +
    (ns.length === 1 ? plotW / 2 - pad : (ns.indexOf(n) / (ns.length - 1)) * (plotW - 2 * pad));
  const y = (v) => m.top + plotH - (Math.log10(Math.max(1, v)) / Math.log10(top)) * plotH;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${m.left}" y="24" font-size="15" font-weight="bold">Upstream token calls vs instances (${esc(Math.round(run.options.rotations * run.options.lifetime))} s window, ${esc(run.options.rotations)} token lifetimes)</text>`,
  );
  // grid and y axis (1, 2, 5, 10, 20, 50, …)
  for (let decade = 1; decade <= top; decade *= 10) {
    for (const k of [1, 2, 5]) {
      const v = decade * k;
      if (v > top) continue;
      const yy = y(v).toFixed(1);
      out.push(
        `<line x1="${m.left}" x2="${m.left + plotW}" y1="${yy}" y2="${yy}" stroke="${k === 1 ? '#d0d7de' : '#eaeef2'}"/>`,
      );
      out.push(
        `<text x="${m.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#57606a">${v.toLocaleString('en-US')}</text>`,
      );
    }
  }
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#24292f"/>`);
  out.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#24292f"/>`,
  );
  for (const n of ns) {
    out.push(
      `<line x1="${x(n)}" x2="${x(n)}" y1="${m.top + plotH}" y2="${m.top + plotH + 5}" stroke="#24292f"/>`,
    );
    out.push(`<text x="${x(n)}" y="${m.top + plotH + 20}" text-anchor="middle">${n}</text>`);
  }
  out.push(`<text x="${m.left + plotW / 2}" y="${H - 15}" text-anchor="middle">instances (N)</text>`);
  out.push(
    `<text transform="translate(18 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">upstream token calls (log scale)</text>`,
  );
  // theoretical minimum
  const ym = y(run.minimum).toFixed(1);
  out.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${ym}" y2="${ym}" stroke="#6e7781" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  // series
  systems.forEach((system, i) => {
    const rows = run.results.filter((r) => r.system === system).sort((a, b) => a.n - b.n);
    const color = COLORS[system] ?? '#6e7781';
    // wxhub's two fleets draw the same line (the minimum): the legacy one dashed over the stable one
    const dash = system === 'legacy' ? ' stroke-dasharray="7 5"' : '';
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.5"${dash} points="${rows.map((r) => `${x(r.n).toFixed(1)},${y(r.upstreamCalls).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const r of rows) {
      const px = x(r.n).toFixed(1);
      const py = y(r.upstreamCalls);
      out.push(
        system === 'legacy'
          ? `<circle cx="${px}" cy="${py.toFixed(1)}" r="6" fill="none" stroke="${color}" stroke-width="2"/>`
          : `<circle cx="${px}" cy="${py.toFixed(1)}" r="4" fill="${color}"/>`,
      );
      // wxhub sits on the minimum line: its labels go below; the cache's above, the timer's to the right
      const [dx, dy, anchor] = {
        stable: [0, 18, 'middle'],
        legacy: [0, 31, 'middle'],
        cache: [0, -10, 'middle'],
        timer: [9, 4, 'start'],
      }[system] ?? [0, -10, 'middle'];
      out.push(
        `<text x="${(Number(px) + dx).toFixed(1)}" y="${(py + dy).toFixed(1)}" text-anchor="${anchor}" fill="${color}" font-weight="bold">${r.upstreamCalls.toLocaleString('en-US')}</text>`,
      );
    }
    const ly = m.top + 10 + i * 40;
    const lx = m.left + plotW + 45;
    const invalid = rows.map((r) => r.invalid.toLocaleString('en-US')).join(' / ');
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${dash}/>`,
    );
    out.push(
      `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${esc(LABELS[system] ?? system)}</text>`,
    );
    out.push(
      `<text x="${lx + 28}" y="${ly + 15}" dominant-baseline="middle" fill="#57606a" font-size="11">invalid: ${esc(invalid)}</text>`,
    );
  });
  const ly = m.top + 10 + systems.length * 40;
  const lx = m.left + plotW + 45;
  out.push(
    `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="#6e7781" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  out.push(
    `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">theoretical minimum (${run.minimum})</text>`,
  );
  out.push(
    `<text x="${lx}" y="${ly + 24}" fill="#57606a" font-size="11">invalid: invalid tokens served</text>`,
  );
  out.push(
    `<text x="${lx}" y="${ly + 38}" fill="#57606a" font-size="11">at N = ${esc(ns.join(' / '))}</text>`,
  );
  out.push(`<text x="${lx}" y="${ly + 58}" fill="#57606a" font-size="11">${esc(run.date)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

module.exports = { renderChart };

if (require.main === module) {
  const input = process.argv[2] ?? path.join(__dirname, 'last-run.json');
  const output = process.argv[3] ?? path.join(__dirname, 'upstream-calls.svg');
  fs.writeFileSync(output, renderChart(JSON.parse(fs.readFileSync(input, 'utf8'))));
  process.stdout.write(`wrote ${output}\n`);
}
