/**
 * docs/benchmarks.svg, built as a string: one panel per figure, one bar per client, lower is better
 * everywhere. Counts and times use a log scale (log10 of 1 + value), so a 1 and a 2,000 both show.
 */
import type { ClientSpec } from "../peers/types.js"
import type { SuiteResult } from "../suite.js"
import { type Analysis, flatHeapBytes, formatNumber as fmt } from "./analysis.js"

export interface Bar {
  readonly label: string
  readonly value: number
  /** Text at the end of the bar. */
  readonly text: string
  readonly color: string
}

export interface Panel {
  readonly title: string
  readonly subtitle: string
  readonly scale: "log" | "linear"
  /** The value of a full-width bar; default the largest bar. */
  readonly max?: number | undefined
  readonly bars: ReadonlyArray<Bar>
}

/** Lines of text instead of bars: the targets. */
export interface TextPanel {
  readonly title: string
  readonly subtitle: string
  readonly lines: ReadonlyArray<{ readonly mark: string; readonly text: string; readonly color: string }>
}

type AnyPanel = Panel | TextPanel

const palette: Record<ClientSpec["id"], string> = {
  "ours": "#1b7f4b",
  "simple-oauth2": "#d9822b",
  "openid-client": "#c23b5a",
  "badgateway": "#3c6fb5",
  "axios-oauth-client": "#7a52b3"
}
const floorColor = "#9aa0a6"

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const shortName = (spec: ClientSpec) => spec.id === "ours" ? "effect-zuora-oauth" : spec.name.split(" ")[0]!

const width = 960
const columns = 2
const panelWidth = (width - 40 - 20 * (columns - 1)) / columns
const labelWidth = 172
const valueWidth = 112
const barHeight = 16
const barGap = 6
const headerHeight = 42

const panelHeight = (panel: AnyPanel) =>
  headerHeight + ("bars" in panel ? panel.bars.length : panel.lines.length) * (barHeight + barGap) + 8

const renderText = (panel: TextPanel, x: number, y: number): string =>
  [
    `<rect x="${x}" y="${y}" width="${panelWidth}" height="${panelHeight(panel)}" rx="6" fill="#ffffff" ` +
    `stroke="#1b7f4b"/>`,
    `<text x="${x + 10}" y="${y + 18}" class="title">${escape(panel.title)}</text>`,
    `<text x="${x + 10}" y="${y + 33}" class="sub">${escape(panel.subtitle)}</text>`,
    ...panel.lines.map((line, i) => {
      const by = y + headerHeight + i * (barHeight + barGap) + barHeight - 4
      return `<text x="${x + 10}" y="${by}" class="value" fill="${line.color}" style="fill:${line.color}">${
        escape(line.mark)
      }</text><text x="${x + 72}" y="${by}" class="label">${escape(line.text)}</text>`
    })
  ].join("\n")

const renderPanel = (panel: Panel, x: number, y: number): string => {
  const area = panelWidth - labelWidth - valueWidth
  const measure = (v: number) => panel.scale === "log" ? Math.log10(1 + Math.max(0, v)) : Math.max(0, v)
  const max = panel.max === undefined
    ? Math.max(1e-9, ...panel.bars.map((b) => measure(b.value)).filter(Number.isFinite))
    : measure(panel.max)
  const parts: Array<string> = [
    `<rect x="${x}" y="${y}" width="${panelWidth}" height="${
      panelHeight(panel)
    }" rx="6" fill="#f7f8fa" stroke="#e1e4e8"/>`,
    `<text x="${x + 10}" y="${y + 18}" class="title">${escape(panel.title)}</text>`,
    `<text x="${x + 10}" y="${y + 33}" class="sub">${escape(panel.subtitle)}</text>`
  ]
  panel.bars.forEach((bar, i) => {
    const by = y + headerHeight + i * (barHeight + barGap)
    const v = measure(bar.value)
    const length = Number.isFinite(v) ? Math.min(area, Math.max(v > 0 ? 2 : 0, (v / max) * area)) : 0
    parts.push(
      `<text x="${x + labelWidth - 6}" y="${by + barHeight - 4}" class="label" text-anchor="end">${
        escape(bar.label)
      }</text>`,
      `<rect x="${x + labelWidth}" y="${by}" width="${
        length.toFixed(1)
      }" height="${barHeight}" rx="2" fill="${bar.color}"/>`,
      `<text x="${x + labelWidth + length + 5}" y="${by + barHeight - 4}" class="value">${escape(bar.text)}</text>`
    )
  })
  return parts.join("\n")
}

export const renderSvg = (
  panels: ReadonlyArray<AnyPanel>,
  title: string,
  subtitle: string,
  legend: ReadonlyArray<Bar>
) => {
  const rows: Array<Array<AnyPanel>> = []
  for (let i = 0; i < panels.length; i += columns) rows.push(panels.slice(i, i + columns))
  const top = 88
  let y = top
  const body: Array<string> = []
  for (const row of rows) {
    row.forEach((panel, c) => {
      const x = 20 + c * (panelWidth + 20)
      body.push("bars" in panel ? renderPanel(panel, x, y) : renderText(panel, x, y))
    })
    y += Math.max(...row.map(panelHeight)) + 16
  }
  let lx = 20
  const legendParts = legend.map((item) => {
    const part = `<rect x="${lx}" y="58" width="12" height="12" rx="2" fill="${item.color}"/>` +
      `<text x="${lx + 17}" y="69" class="label">${escape(item.label)}</text>`
    lx += 17 + item.label.length * 6.6 + 18
    return part
  })
  const height = y + 4
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${escape(title)}">`,
    "<style>",
    "text{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;fill:#24292f}",
    ".h1{font-size:18px;font-weight:600}.h2{font-size:12px;fill:#57606a}",
    ".title{font-size:13px;font-weight:600}.sub{font-size:11px;fill:#57606a}",
    ".label{font-size:11px}.value{font-size:11px;font-weight:600}",
    "</style>",
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="28" class="h1">${escape(title)}</text>`,
    `<text x="20" y="46" class="h2">${escape(subtitle)}</text>`,
    ...legendParts,
    ...body,
    "</svg>"
  ].join("\n") + "\n"
}

/** The chart of a suite run. */
export const chart = (suite: SuiteResult, analysis: Analysis, date: string): string => {
  const bars = <A>(
    rows: ReadonlyArray<{ readonly spec: ClientSpec; readonly median: A }>,
    value: (a: A) => number,
    text: (a: A) => string
  ) =>
    rows.map((r) => ({
      label: shortName(r.spec),
      value: value(r.median),
      text: text(r.median),
      color: palette[r.spec.id]
    }))
  const { sizes } = suite
  const panels: Array<AnyPanel> = [
    {
      title: "Cold herd: token requests",
      subtitle: `${fmt(sizes.coldHerd.callers)} callers at once on a cold client (log scale)`,
      scale: "log",
      bars: bars(analysis.herd, (m) => m.tokenRequests, (m) => fmt(m.tokenRequests))
    },
    {
      title: "Cold herd: time to serve all callers",
      subtitle: `ms, token endpoint ${sizes.coldHerd.latencyMs} ms (log scale)`,
      scale: "log",
      bars: bars(analysis.herd, (m) => m.ms, (m) => `${fmt(m.ms)} ms`)
    },
    ...(analysis.herdCost === undefined ? [] : [{
      title: "Cold herd: the cache's own cost",
      subtitle: `ms for ${fmt(analysis.herdCost.callers)} fibers, ${analysis.herdCost.latencyMs} ms endpoint; ` +
        "grey: one Deferred (linear scale)",
      scale: "linear" as const,
      bars: [
        {
          label: "Deferred (floor)",
          value: analysis.herdCost.deferredMs,
          text: `${fmt(analysis.herdCost.deferredMs)} ms`,
          color: floorColor
        },
        {
          label: "effect-zuora-oauth",
          value: analysis.herdCost.oursMs,
          text: `${fmt(analysis.herdCost.oursMs)} ms (${fmt(analysis.herdCost.ratio, 2)}x)`,
          color: palette.ours
        }
      ]
    }]),
    {
      title: "Rate-limit storm: token requests",
      subtitle: `429s for ${sizes.storm.stormSeconds} s, ${fmt(sizes.storm.callers)} callers arriving (log scale)`,
      scale: "log",
      bars: bars(analysis.storm, (m) => m.tokenRequests, (m) => `${fmt(m.tokenRequests)} (${fmt(m.served)} served)`)
    },
    {
      title: "Rate-limit storm: recovery to last caller served",
      subtitle: "ms after the endpoint recovers (linear scale)",
      scale: "linear",
      bars: bars(analysis.storm, (m) => m.recoverMs, (m) => `${fmt(m.recoverMs)} ms`)
    },
    {
      title: "Renewal: tokens used after expiry",
      subtitle: `${sizes.renewal.tokenLifetimeSeconds} s tokens, ${sizes.renewal.latencyMs} ms endpoint, ` +
        `${sizes.renewal.callers} callers looping (log scale)`,
      scale: "log",
      bars: bars(analysis.renewal, (m) => m.expiredUses, (m) => fmt(m.expiredUses))
    },
    {
      title: "Renewal: token requests",
      subtitle: `in ${fmt(sizes.renewal.durationMs / 1000, 1)} s (log scale)`,
      scale: "log",
      bars: bars(analysis.renewal, (m) => m.tokenRequests, (m) => fmt(m.tokenRequests))
    },
    {
      title: "Renewal: longest wait for a token",
      subtitle: "ms, after each caller's first get (log scale)",
      scale: "log",
      bars: bars(analysis.renewal, (m) => m.maxWaitMs, (m) => `${fmt(m.maxWaitMs, 1)} ms`)
    },
    {
      title: "Cache hit: cost of a warm get",
      subtitle: "ns per get; grey: the floors, Ref.get (Effect) and await (async)",
      scale: "linear",
      bars: [
        {
          label: "Ref.get (floor)",
          value: suite.cacheHit.refGetNs,
          text: `${fmt(suite.cacheHit.refGetNs)} ns`,
          color: floorColor
        },
        ...analysis.cacheHit.map((c) => ({
          label: shortName(c.spec),
          value: c.nsPerGet,
          text: `${fmt(c.nsPerGet)} ns`,
          color: palette[c.spec.id]
        })),
        ...(analysis.bridge === undefined ? [] : [{
          label: "await bridge() (ours)",
          value: analysis.bridge.nsPerGet,
          text: `${fmt(analysis.bridge.nsPerGet)} ns`,
          color: palette.ours
        }]),
        {
          label: "await (floor)",
          value: suite.cacheHit.bareAwaitNs,
          text: `${fmt(suite.cacheHit.bareAwaitNs)} ns`,
          color: floorColor
        }
      ]
    },
    {
      title: `Memory: heap growth over ${fmt(suite.memory.hits)} cache hits`,
      subtitle: `KiB; a full bar is ${fmt(flatHeapBytes / 1024)} KiB, the "flat" limit (linear scale)`,
      scale: "linear",
      max: flatHeapBytes / 1024,
      bars: analysis.memory.map((c) => ({
        label: shortName(c.spec),
        value: c.deltaBytes / 1024,
        text: `${fmt(c.deltaBytes / 1024, 1)} KiB`,
        color: palette[c.spec.id]
      }))
    }
  ]
  panels.push({
    title: "Our targets",
    subtitle: "checked on every run of effect-zuora-oauth; details in benchmarks.md",
    lines: analysis.targets.map((t) => ({
      mark: t.met ? "met" : "NOT MET",
      text: `${t.scenario}: ${t.short}`,
      color: t.met ? "#1b7f4b" : "#c62828"
    }))
  })
  const legend = suite.clients.map((spec) => ({ label: shortName(spec), value: 0, text: "", color: palette[spec.id] }))
  return renderSvg(
    panels,
    "effect-zuora-oauth beside the OAuth clients people use: lower is better",
    `npm run bench, ${date}: medians of repeated runs against the Zuora simulator on loopback (see benchmarks.md)`,
    legend
  )
}
