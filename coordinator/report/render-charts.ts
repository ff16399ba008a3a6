import type { VegaLiteSpec } from "./report-data.ts";

/** The part of vega's runtime this file uses. */
interface VegaRuntime {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: "none" }) => { toSVG(): Promise<string>; finalize(): void };
}

interface VegaLiteCompiler {
  compile(spec: VegaLiteSpec): { spec: unknown };
}

/**
 * Loaded on first use: vega and vega-lite take a few hundred milliseconds to import, which the
 * commands that draw nothing (worker, presets) should not pay. The specifiers are variables so
 * that TypeScript does not read vega's type declarations, which need the DOM library this
 * Node project does not compile against.
 */
async function loadVega(): Promise<{ vega: VegaRuntime; vegaLite: VegaLiteCompiler }> {
  const specifiers = ["vega", "vega-lite"];
  const [vega, vegaLite] = await Promise.all(specifiers.map((s) => import(s)));
  return { vega: vega as VegaRuntime, vegaLite: vegaLite as VegaLiteCompiler };
}

/** Renders vega-lite specs to standalone SVG text in this process (no browser, no canvas). */
export async function renderSvgs(specs: readonly VegaLiteSpec[]): Promise<string[]> {
  const { vega, vegaLite } = await loadVega();
  return Promise.all(
    specs.map(async (spec) => {
      const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
      try {
        return await view.toSVG();
      } finally {
        view.finalize();
      }
    }),
  );
}
