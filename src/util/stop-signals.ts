// Shutdown on SIGINT/SIGTERM for long-running commands (the service, the playground).

/**
 * Call `stop` on the first SIGINT or SIGTERM and ignore repeats: Ctrl-C reaches a relaunched CLI
 * from the terminal and again from its launcher (bin/malloc-tuning.js).
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const first = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, first);
}
