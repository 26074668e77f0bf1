/**
 * The simulator's HTML report, rendered for real: each fixture report is written with
 * writeHtmlReport and opened in headless Chromium (installed by scripts/ensure-tools.mjs). The
 * dumped DOM must show the page's script ran without errors and all seven charts drawn; a probe copy
 * of the page checks that every chart gets a layout box with drawn geometry, and one screenshot
 * proves the page paints. Plain unit tests check that the page is offline and escapes its text.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport, writeHtmlReport } from '../../sim/html-report.ts';
import type { SimReport } from '../../sim/report-types.ts';
import { emptyReport, realisticReport } from './report-fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_TIMEOUT_MS = 60_000;
const DOM_BYTES_MAX = 64 * 1024 * 1024;
const SCREENSHOT_BYTES_MIN = 40_000;
const CHARTS = [
  'orders-per-minute',
  'sla-hit-rate',
  'delivery-distribution',
  'courier-utilization',
  'inventory-accuracy',
  'rejections',
  'map',
];

const run = promisify(execFile);
const tempDirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs headless Chromium with its own throwaway profile; resolves with what it printed. */
async function chromium(args: string[]): Promise<string> {
  const profile = tempDir('darkstore-chromium-');
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'];
  const { stdout } = await run(CHROMIUM, [...flags, `--user-data-dir=${profile}`, ...args], {
    timeout: CHROMIUM_TIMEOUT_MS,
    maxBuffer: DOM_BYTES_MAX,
  });
  return stdout;
}

/** The inside of the `<svg data-chart="name">` element in a serialized DOM, or undefined. */
function chartBody(dom: string, name: string): string | undefined {
  return new RegExp(`<svg[^>]*data-chart="${name}"[^>]*>([\\s\\S]*?)</svg>`).exec(dom)?.[1];
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/**
 * Appended to a copy of the page: after the page's own handler, records each chart's layout height
 * and the size of its drawn geometry, which the DOM dump alone cannot show.
 */
const PROBE = `<script>document.addEventListener('DOMContentLoaded', function () {
  var boxes = [].map.call(document.querySelectorAll('svg[data-chart]'), function (svg) {
    var box = svg.getBBox();
    return svg.dataset.chart + ':' + Math.round(svg.getBoundingClientRect().height) + ':' + Math.round(box.width * box.height);
  });
  document.body.dataset.probe = boxes.join(',');
});</script>`;

async function renderInChromium(report: SimReport): Promise<{ dom: string; probe: string[] }> {
  const page = writeHtmlReport(tempDir('darkstore-report-'), report);
  const dom = await chromium(['--dump-dom', pathToFileURL(page).href]);
  const probePage = page.replace(/index\.html$/, 'probe.html');
  writeFileSync(probePage, readFileSync(page, 'utf8').replace('</body>', `${PROBE}</body>`));
  const probeDom = await chromium(['--dump-dom', pathToFileURL(probePage).href]);
  const probe = /data-probe="([^"]*)"/.exec(probeDom)?.[1]?.split(',') ?? [];
  return { dom, probe };
}

function expectRenderedCleanly(dom: string, probe: string[]): void {
  const body = /<body[^>]*>/.exec(dom)?.[0] ?? '';
  expect(body).toContain('data-rendered="ok"');
  expect(body).not.toContain('data-errors');
  expect(dom).not.toMatch(/NaN|Infinity/);
  for (const name of CHARTS) {
    const inside = chartBody(dom, name);
    expect(inside, `chart ${name}`).toBeDefined();
    expect(count(inside ?? '', /<(path|rect|circle)\b/g), `chart ${name} draws shapes`).toBeGreaterThan(0);
  }
  // Every chart is laid out with a height and has drawn geometry of non-zero area.
  expect(probe.map((entry) => entry.split(':')[0])).toEqual(CHARTS);
  for (const entry of probe) {
    const [name, height, area] = entry.split(':');
    expect(Number(height), `${name} height`).toBeGreaterThan(40);
    expect(Number(area), `${name} drawn area`).toBeGreaterThan(0);
  }
}

describe('HTML report in headless Chromium', () => {
  beforeAll(() => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run 'node scripts/ensure-tools.mjs' (npm test's pretest does)`);
    }
  });

  it('renders a realistic run: all charts drawn, no script errors, no NaN', async () => {
    const { dom, probe } = await renderInChromium(realisticReport());
    expectRenderedCleanly(dom, probe);
    expect(chartBody(dom, 'orders-per-minute')).toContain('class="line"');
    expect(count(chartBody(dom, 'orders-per-minute') ?? '', /class="fault"/g)).toBe(2);
    expect(count(chartBody(dom, 'delivery-distribution') ?? '', /<rect class="(within|past)"/g)).toBeGreaterThan(20);
    expect(count(chartBody(dom, 'rejections') ?? '', /<rect class="bar"/g)).toBe(4);
    const map = chartBody(dom, 'map') ?? '';
    expect(count(map, /<circle class="zone"/g)).toBe(10);
    expect(count(map, /<circle class="(on-time|late)"/g)).toBe(1_000);
    expect(count(dom, /<tr><td>W\d+<\/td>/g)).toBe(10);
  });

  it('renders a run of zeros with empty series without NaN or Infinity', async () => {
    const { dom, probe } = await renderInChromium(emptyReport());
    expectRenderedCleanly(dom, probe);
    expect(dom).toContain('no samples');
    expect(dom).toContain('no rejections');
  });

  it('paints the page into a screenshot', async () => {
    const dir = tempDir('darkstore-shot-');
    const page = writeHtmlReport(dir, realisticReport());
    const png = join(dir, 'report.png');
    await chromium([`--screenshot=${png}`, '--window-size=1280,2400', '--hide-scrollbars', pathToFileURL(page).href]);
    expect(readFileSync(png).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(statSync(png).size).toBeGreaterThan(SCREENSHOT_BYTES_MIN);
  });
});

describe('HTML report as text', () => {
  it('is self-contained: no network references', () => {
    for (const report of [realisticReport(), emptyReport()]) {
      const html = renderHtmlReport(report);
      expect(html).not.toMatch(/https?:\/\//i);
      expect(html).not.toMatch(/<link\b|\bsrc=|@import|url\(/i);
    }
  });

  it('escapes every text taken from the report', () => {
    const hostile = '<script>alert(1)</script>';
    const report = realisticReport();
    report.scenario = hostile;
    report.faults[0] = { kind: hostile, fromMinute: 10, toMinute: 20, detail: `"${hostile}'` };
    report.orders.rejected[hostile] = 5;
    report.escalations.byKind[hostile] = 1;
    const first = report.perWarehouse[0];
    if (first !== undefined) first.id = hostile;
    const html = renderHtmlReport(report);
    expect(html).not.toContain(hostile);
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(count(html, /<script>/g)).toBe(1);
  });

  it('guards non-finite numbers and marks must-be-zero counters that are not', () => {
    const report = realisticReport();
    report.oversoldUnits = 3;
    report.deliveryMinutes = { p50: Number.NaN, p95: Number.POSITIVE_INFINITY, p99: Number.NaN };
    report.inventoryAccuracy.final = Number.NaN;
    report.series.ordersPerMinute[5] = { minute: 5, value: Number.NaN };
    report.series.bucketMinutes = Number.NaN;
    const first = report.map.deliveries[0];
    if (first !== undefined) first.lat = Number.POSITIVE_INFINITY;
    const html = renderHtmlReport(report);
    expect(html).not.toMatch(/NaN|Infinity/);
    expect(html).toMatch(/<div class="card bad"><div class="k">Oversold units<\/div><div class="v">3<\/div>/);
    expect(html).toMatch(/<div class="card good"><div class="k">Acknowledged lost<\/div><div class="v">0<\/div>/);
  });
});
