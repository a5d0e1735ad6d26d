// DELIBERATELY BAD: an infinite loop. Not served by default (the leading underscore); it exists to show
// the CPU limit: `faas run functions/_spin.ts` ends with `error: cpu_limit_exceeded: …`.
export default {
  fetch(): Response {
    for (;;) {
      // spin
    }
  },
};
