/**
 * The machine and the versions a report was measured with.
 */
import { readFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export interface Environment {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  readonly date: string
  /** Package name to installed version, read from node_modules. */
  readonly versions: ReadonlyArray<{ readonly name: string; readonly version: string }>
}

const versionOf = (name: string): string => {
  try {
    const file = path.join(process.cwd(), "node_modules", name, "package.json")
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"))
    if (typeof parsed === "object" && parsed !== null && "version" in parsed && typeof parsed.version === "string") {
      return parsed.version
    }
  } catch {
    // Not installed: reported as such.
  }
  return "not installed"
}

const ownVersion = (): string => {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(process.cwd(), "package.json"), "utf8"))
    if (typeof parsed === "object" && parsed !== null && "version" in parsed && typeof parsed.version === "string") {
      return `${parsed.version} (this checkout)`
    }
  } catch {
    // Run from elsewhere.
  }
  return "this checkout"
}

export const environment = (packages: ReadonlyArray<string>): Environment => {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    versions: [
      { name: "effect-zuora-oauth", version: ownVersion() },
      ...[...new Set(packages)].map((name) => ({ name, version: versionOf(name) }))
    ]
  }
}
