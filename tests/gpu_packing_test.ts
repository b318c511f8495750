/**
 * A headline batch's packing (src/gpu/packing.ts): which positions packPositions keeps (a row's first
 * `length`, cut to the step's positions; empty rows; rows past the step's size) and the two directions of
 * shaders/rows_pack.wgsl against a plain copy by those indices, at odd widths (f32 rows) and widths of 4n
 * (vec4 rows): packed rows past the step's count and positions past the step's rows are left as they were,
 * positions without a target unpack to exactly 0. The packed model's results are the headline and LSTM
 * tests' (tests/gpu_headline_test.ts, tests/gpu_lstm_test.ts).
 */
import { assert, assertEquals, randomArray } from "./assert.ts";
import { gpuTest, output, readFloats } from "./gpu_harness.ts";
import { createPacking, createRowsPack, packPositions } from "../src/gpu/packing.ts";
import { createStepParams } from "../src/gpu/step_params.ts";

Deno.test("packPositions: each row's first positions, cut to the step's, in position order", () => {
  // Row 1 is empty, row 2 longer than the step's 4 positions, row 3 past the size; 5 rows built.
  const p = packPositions([2, 0, 9, 1, 3], 3, 4, 5);
  assertEquals(p.rows, 6);
  assertEquals(Array.from(p.positions), [0, 1, 8, 9, 10, 11]);
  const rowOf = new Int32Array(20).fill(-1);
  p.positions.forEach((at, r) => (rowOf[at] = r));
  assertEquals(p.rowOf, rowOf);
  // The lengths cut to the step's positions (0 past the size), and the rows by them, longest first, ties in
  // row order: what the recurrent kernels deal out to their workgroups.
  assertEquals(Array.from(p.byLength.subarray(5)), [2, 0, 4, 0, 0]);
  assertEquals(Array.from(p.byLength.subarray(0, 5)), [2, 0, 1, 3, 4]);
  // No rows, and every position of every row (what scoring asks for).
  assertEquals(packPositions([], 0, 3, 2).rows, 0);
  const all = packPositions([3, 3], 2, 3, 2);
  assertEquals(Array.from(all.positions), [0, 1, 2, 3, 4, 5]);
  assertEquals(Array.from(all.rowOf), [0, 1, 2, 3, 4, 5]);
  assertEquals(Array.from(all.byLength), [0, 1, 3, 3]);
});

const UNTOUCHED = -5;

for (const width of [7, 12]) {
  gpuTest(
    `rows pack and unpack: ${width} floats a row (${width % 4 ? "f32" : "vec4"}), odd batch`,
    async (gpu) => {
      const maxB = 5, maxSteps = 6;
      const most = maxB * maxSteps;
      const step = createStepParams(gpu, "test step", maxSteps);
      const packing = createPacking(gpu, maxB, maxSteps);
      const x = output(gpu, most * width);
      const packed = output(gpu, most * width);
      const back = output(gpu, most * width);
      const pack = await createRowsPack(gpu, width, { step: step.buffer, packing, x, y: packed }, true);
      const unpack = await createRowsPack(
        gpu,
        width,
        { step: step.buffer, packing, x: packed, y: back },
        false,
      );
      // Two steps on the same kernels: 4 rows of 5 positions, then 2 rows of 3.
      for (const [size, steps, lengths] of [[4, 5, [5, 0, 2, 4]], [2, 3, [1, 3]]] as const) {
        const data = randomArray(most * width, 7 + steps, -1, 1);
        gpu.write(x.buffer, 0, data);
        gpu.write(packed.buffer, 0, new Float32Array(most * width).fill(UNTOUCHED));
        gpu.write(back.buffer, 0, new Float32Array(most * width).fill(UNTOUCHED));
        step.set(0, size, 0, steps);
        const n = packing.set(lengths, size, steps);
        await gpu.run([pack, unpack]);
        const want = packPositions(lengths, size, steps, maxB);
        assertEquals(n, want.rows);
        const gotPacked = await readFloats(gpu, packed, most * width);
        const gotBack = await readFloats(gpu, back, most * width);
        for (let r = 0; r < most; r++) {
          for (let c = 0; c < width; c++) {
            const at = r * width + c;
            const packedWant = r < n ? data[want.positions[r] * width + c] : UNTOUCHED;
            assert(
              gotPacked[at] === packedWant,
              `packed row ${r} col ${c}: ${gotPacked[at]}, want ${packedWant}`,
            );
            // Positions of the step's maxB rows: their own value where packed, else 0; past them untouched.
            const backWant = r >= maxB * steps ? UNTOUCHED : want.rowOf[r] >= 0 ? data[at] : 0;
            assert(gotBack[at] === backWant, `position ${r} col ${c}: ${gotBack[at]}, want ${backWant}`);
          }
        }
      }
      for (const b of [x, packed, back]) gpu.destroy(b.buffer);
      const packingBuffers = [
        packing.step,
        packing.positions,
        packing.rowOf,
        packing.byLength,
      ];
      for (const b of [step.buffer, ...packingBuffers]) gpu.destroy(b);
    },
  );
}
