/** The TypeScript module that src/optim/kernels.wat compiles to. */
export function kernelsModule(): Promise<string>;
