/**
 * Reading csi-sanity's results: the ginkgo JSON report (`-ginkgo.json-report`) into one line per
 * spec with its state, and test/sanity/README.md's list of the specs Loam expects to be skipped.
 */
import { readFile } from 'node:fs/promises';

export interface SpecResult {
  /** Container texts and the spec's own text, joined by " / ". */
  name: string;
  state: string;
  message: string;
}

interface GinkgoSpecReport {
  ContainerHierarchyTexts?: string[] | null;
  LeafNodeText?: string;
  LeafNodeType?: string;
  State?: string;
  Failure?: { Message?: string } | null;
}

/** The `It` specs of a ginkgo JSON report (setup and report nodes left out). */
export function specResults(reportJson: string): SpecResult[] {
  const suites = JSON.parse(reportJson) as Array<{ SpecReports?: GinkgoSpecReport[] | null }>;
  return suites.flatMap((s) => s.SpecReports ?? [])
    .filter((r) => r.LeafNodeType === 'It')
    .map((r) => ({
      name: [...(r.ContainerHierarchyTexts ?? []), r.LeafNodeText ?? ''].join(' / '),
      state: r.State ?? 'unknown',
      message: (r.Failure?.Message ?? '').trim(),
    }));
}

/**
 * The skipped specs README.md lists: the bullet lines between the heading "## Skipped specs" and the
 * next heading, each "- `<spec name>`: why".
 */
export async function expectedSkips(readmePath: string): Promise<string[]> {
  const text = await readFile(readmePath, 'utf8');
  const section = text.split(/^## /m).find((s) => s.startsWith('Skipped specs')) ?? '';
  return [...section.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]!);
}
