// `npm run bench:report`: re-renders BENCHMARKS.md and bench/results/cold-start.svg from
// bench/results/latest.json (e.g. after editing bench/analysis.md), without measuring anything.
import { readFileSync } from 'node:fs';
import { writeReport, type Results } from './report.ts';

const results = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) as Results;
console.log(`wrote ${writeReport(results).join(', ')}`);
