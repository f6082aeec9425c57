// The Effect 3 edition's side of bench/editions/measure.mjs: the root's effect 3 and dist/.
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { TokenService } from "../../dist/index.js"
import { measure, sizes } from "./measure.mjs"

const result = await measure({ Effect, Ref, Deferred, Duration, TokenService, fork: Effect.fork }, sizes(process.argv))
process.stdout.write(`${JSON.stringify({ edition: "effect 3", ...result })}\n`)
