// The Effect 4 edition's side of bench/editions/measure.mjs: v4's effect 4 and v4/dist/.
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { measure, sizes } from "../../bench/editions/measure.mjs"
import { TokenService } from "../dist/index.js"

const result = await measure(
  { Effect, Ref, Deferred, Duration, TokenService, fork: Effect.forkChild },
  sizes(process.argv)
)
process.stdout.write(`${JSON.stringify({ edition: "effect 4", ...result })}\n`)
