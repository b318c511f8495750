/// <reference lib="deno.unstable" />
/**
 * The project's own `deno lint` rules (deno.json's lint.plugins), for what the linter's built-in rules do
 * not check:
 *
 * - `webgpu-lstm/long-function`: a function (declared, a method, an expression or an arrow) in src/ or web/ over
 *   {@linkcode MAX_FUNCTION_LINES} lines. A long function usually holds several steps that read better as
 *   functions of their own; one that must stay long says why beside it:
 *   `// deno-lint-ignore webgpu-lstm/long-function -- the reason`.
 */

/** The most lines (from its first to its last) a function in src/ or web/ may span. */
export const MAX_FUNCTION_LINES = 120;

/** Only the product's code: tests, tools and scripts may hold long tables of cases. */
const CHECKED = /(^|\/)(src|web)\//;

const plugin: Deno.lint.Plugin = {
  name: "webgpu-lstm",
  rules: {
    "long-function": {
      create(ctx) {
        if (!CHECKED.test(ctx.filename.replaceAll("\\", "/"))) return {};
        const text = ctx.sourceCode.text;
        // Line starts, to turn a node's character range into lines.
        const starts = [0];
        for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
        const lineOf = (offset: number) => {
          let lo = 0, hi = starts.length - 1;
          while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (starts[mid] <= offset) lo = mid;
            else hi = mid - 1;
          }
          return lo + 1;
        };
        const check = (node: Deno.lint.Node, name: string) => {
          const lines = lineOf(node.range[1]) - lineOf(node.range[0]) + 1;
          if (lines > MAX_FUNCTION_LINES) {
            ctx.report({
              node,
              message: `${name} spans ${lines} lines, more than ${MAX_FUNCTION_LINES}`,
              hint: "split it along its steps, or say why it must stay long in a deno-lint-ignore comment",
            });
          }
        };
        return {
          FunctionDeclaration(node) {
            check(node, `function ${node.id?.name ?? "(anonymous)"}`);
          },
          "FunctionExpression, ArrowFunctionExpression"(
            node: Deno.lint.FunctionExpression | Deno.lint.ArrowFunctionExpression,
          ) {
            check(node, nameOf(node));
          },
        };
      },
    },
  },
};

/** How a report names a function expression: by the method, property or variable that holds it. */
function nameOf(node: Deno.lint.FunctionExpression | Deno.lint.ArrowFunctionExpression): string {
  const parent = node.parent;
  const key = (k: Deno.lint.Node) => k.type === "Identifier" ? k.name : "(computed)";
  if (parent.type === "MethodDefinition") return `method ${key(parent.key)}`;
  if (parent.type === "Property") return `function ${key(parent.key)}`;
  if (parent.type === "VariableDeclarator") return `function ${key(parent.id)}`;
  return "a function expression";
}

export default plugin;
