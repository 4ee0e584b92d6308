/** Output formats of `proxflare graph`; shared by the command's options and its lazily loaded action. */
export const GRAPH_FORMATS = ['mermaid', 'text', 'json'] as const;
