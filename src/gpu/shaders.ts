/**
 * Every WGSL source in shaders/, as text: the one way shaders reach the runtime, under Deno (text imports)
 * and in a browser bundle (`deno bundle` inlines them). shaders/*.wgsl stay the single source; a test checks
 * that this list names every file there.
 */
import adam from "../../shaders/adam.wgsl" with { type: "text" };
import colsum from "../../shaders/colsum.wgsl" with { type: "text" };
import dropout from "../../shaders/dropout.wgsl" with { type: "text" };
import embedding from "../../shaders/embedding.wgsl" with { type: "text" };
import embeddingBackward from "../../shaders/embedding_backward.wgsl" with { type: "text" };
import embeddingSpans from "../../shaders/embedding_spans.wgsl" with { type: "text" };
import gradNorm from "../../shaders/grad_norm.wgsl" with { type: "text" };
import gradNormFinal from "../../shaders/grad_norm_final.wgsl" with { type: "text" };
import lstmActivations from "../../shaders/lstm_activations.wgsl" with { type: "text" };
import lstmRows from "../../shaders/lstm_rows.wgsl" with { type: "text" };
import lstmCell from "../../shaders/lstm_cell.wgsl" with { type: "text" };
import lstmCellBackward from "../../shaders/lstm_cell_backward.wgsl" with { type: "text" };
import lstmSeq from "../../shaders/lstm_seq.wgsl" with { type: "text" };
import lstmSeqBackward from "../../shaders/lstm_seq_backward.wgsl" with { type: "text" };
import matmulCommon from "../../shaders/matmul_common.wgsl" with { type: "text" };
import matmulRegblock from "../../shaders/matmul_regblock.wgsl" with { type: "text" };
import matmulStageA from "../../shaders/matmul_stage_a.wgsl" with { type: "text" };
import matmulTiled from "../../shaders/matmul_tiled.wgsl" with { type: "text" };
import rowsPack from "../../shaders/rows_pack.wgsl" with { type: "text" };
import softmaxXent from "../../shaders/softmax_xent.wgsl" with { type: "text" };
import softmaxXentCount from "../../shaders/softmax_xent_count.wgsl" with { type: "text" };
import softmaxXentMean from "../../shaders/softmax_xent_mean.wgsl" with { type: "text" };
import stepParams from "../../shaders/step_params.wgsl" with { type: "text" };

/** Shader name (file name without .wgsl) -> WGSL source. */
export const SHADER_SOURCES: Readonly<Record<string, string>> = Object.freeze({
  adam,
  colsum,
  dropout,
  embedding,
  embedding_backward: embeddingBackward,
  embedding_spans: embeddingSpans,
  grad_norm: gradNorm,
  grad_norm_final: gradNormFinal,
  lstm_activations: lstmActivations,
  lstm_rows: lstmRows,
  lstm_cell: lstmCell,
  lstm_cell_backward: lstmCellBackward,
  lstm_seq: lstmSeq,
  lstm_seq_backward: lstmSeqBackward,
  matmul_common: matmulCommon,
  matmul_regblock: matmulRegblock,
  matmul_stage_a: matmulStageA,
  matmul_tiled: matmulTiled,
  rows_pack: rowsPack,
  softmax_xent: softmaxXent,
  softmax_xent_count: softmaxXentCount,
  softmax_xent_mean: softmaxXentMean,
  step_params: stepParams,
});
