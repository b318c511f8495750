// The LSTM's activations, shared by its forward and backward kernels (the backward recomputes tanh(c) with
// the function that produced h). Clamped so that pre-activations up to +-1e4 give 0..1 and -1..1, never exp
// overflow or NaN.

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-clamp(v, -40.0, 40.0)));
}

fn tanhSafe(v: f32) -> f32 {
  return tanh(clamp(v, -15.0, 15.0));
}

fn sigmoid4(v: vec4f) -> vec4f {
  return 1.0 / (1.0 + exp(-clamp(v, vec4f(-40.0), vec4f(40.0))));
}

fn tanh4(v: vec4f) -> vec4f {
  return tanh(clamp(v, vec4f(-15.0), vec4f(15.0)));
}
