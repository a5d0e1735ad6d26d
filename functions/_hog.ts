// DELIBERATELY BAD: a memory bomb. Not served by default (the leading underscore); it exists to show the
// memory cap: `faas run functions/_hog.ts` ends with `error: memory_limit_exceeded: …`.
export default {
  fetch(): Response {
    const hoard: string[] = [];
    for (let i = 0; ; i++) hoard.push(`${i}`.repeat(64));
  },
};
