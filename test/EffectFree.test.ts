/**
 * The Effect-free core: the files both Effect editions will share import nothing from `effect` or
 * `@effect/*`, directly or through another import, so that a copy of `effect` of the other major can
 * never be pulled in by them ("Not a valid effect" at run time).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const src = fileURLToPath(new URL("../src/", import.meta.url))

/** The shared core, relative to src/. */
const core = fs.readdirSync(path.join(src, "internal/core")).filter((f) => f.endsWith(".ts")).map((f) =>
  `internal/core/${f}`
)

const specifiers = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/^\s*(?:import|export)\b[^"']*?from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm)]
    .map((m) => m[1] ?? m[2]!)

const importsOf = (file: string): ReadonlyArray<string> => specifiers(fs.readFileSync(path.join(src, file), "utf8"))

describe("the Effect-free core", () => {
  for (const file of core) {
    it(`${file} imports nothing from effect, directly or indirectly`, () => {
      const seen = new Set<string>()
      const visit = (current: string) => {
        if (seen.has(current)) return
        seen.add(current)
        for (const specifier of importsOf(current)) {
          // Node's built-ins are the same for both editions (the simulator's core needs node:http).
          if (specifier.startsWith("node:")) continue
          assert.isTrue(specifier.startsWith("."), `${current} imports ${specifier}: only relative imports of the core`)
          const target = path.normalize(path.join(path.dirname(current), specifier.replace(/\.js$/, ".ts")))
          assert.include(core, target, `${current} imports ${target}, which is not part of the Effect-free core`)
          visit(target)
        }
      }
      visit(file)
    })
  }

  it("the check sees imports: a file importing effect is caught", () => {
    const sample = "import * as Effect from \"effect/Effect\"\nexport { x } from \"./y.js\"\nimport \"effect\"\n"
    assert.deepStrictEqual(specifiers(sample), ["effect/Effect", "./y.js", "effect"])
  })
})

describe("the Effect 4 edition shares the core, never the Effect 3 edition", () => {
  const v4 = fileURLToPath(new URL("../v4/src/", import.meta.url))
  const distCore = fileURLToPath(new URL("../dist/internal/core/", import.meta.url))
  const files = (dir: string): ReadonlyArray<string> =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? files(path.join(dir, entry.name))
        : entry.name.endsWith(".ts")
        ? [path.join(dir, entry.name)]
        : []
    )

  it("v4/src imports effect 4, Node built-ins, its own modules and the core's build (dist/internal/core) only", () => {
    const all = files(v4)
    assert.isAbove(all.length, 10, "v4/src has the Effect 4 edition's modules")
    for (const file of all) {
      for (const specifier of specifiers(fs.readFileSync(file, "utf8"))) {
        const where = `${path.relative(v4, file)} imports ${specifier}`
        if (specifier.startsWith(".")) {
          const target = path.resolve(path.dirname(file), specifier)
          assert.isTrue(
            target.startsWith(v4) || target.startsWith(distCore),
            `${where}: outside v4/src only the shared core's build may be imported`
          )
        } else {
          assert.isTrue(
            specifier === "effect" || specifier.startsWith("effect/") || specifier.startsWith("node:"),
            `${where}: only effect (4) and Node built-ins (no @effect/platform, no client library)`
          )
        }
      }
    }
  })
})
