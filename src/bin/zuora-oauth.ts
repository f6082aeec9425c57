#!/usr/bin/env node
/**
 * The `zuora-oauth` command's entry: checks that the Effect 3 line it runs on is installed beside the
 * package (`effect` 3 and `@effect/platform`), then starts the command line (`cli.ts`). In a project on
 * Effect 4, where neither is, it says so and how to run it, instead of failing with a module error.
 * It imports nothing from Effect itself.
 *
 * @since 0.2.0
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

const majorOf = (name: string): number | undefined => {
  try {
    const manifest = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version?: unknown }
    return typeof manifest.version === "string" ? Number(manifest.version.split(".")[0]) : undefined
  } catch {
    return undefined
  }
}

const effect = majorOf("effect")
const platform = majorOf("@effect/platform")

if (effect === 3 && platform !== undefined) {
  await import("./cli.js")
} else {
  process.stderr.write(
    "zuora-oauth: the command line runs on the Effect 3 line (effect 3 and @effect/platform 0.97), " +
      `and this project has ${effect === undefined ? "no effect" : `effect ${effect}`}${
        platform === undefined ? " without @effect/platform" : ""
      }.\n` +
      "Run it with its own dependencies: npx -p effect-zuora-oauth -p effect@3 -p @effect/platform@0.97 zuora-oauth --help\n"
  )
  process.exitCode = 2
}
