/**
 * `npm run bench`: runs every benchmark in scripts/bench/ in turn and prints its figures.
 * A name on the command line runs just that one (`npm run bench -- sender`).
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface Benchmark {
  name: string;
  run(): Promise<void>;
}

const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  // name: () => import('./bench/<name>.js').then((m) => m.benchmark),
  'cli-start': () => import('./bench/cli-start.js').then((m) => m.benchmark),
  'cold-start': () => import('./bench/cold-start.js').then((m) => m.benchmark),
  'cost-per-email': () => import('./bench/cost-per-email.js').then((m) => m.benchmark),
  'install-overhead': () => import('./bench/install-overhead.js').then((m) => m.benchmark),
  feedback: () => import('./bench/feedback.js').then((m) => m.benchmark),
  'local-burst': () => import('./bench/local-burst.js').then((m) => m.benchmark),
  'local-burst-data-dir': () => import('./bench/local-burst.js').then((m) => m.dataDirBenchmark),
  'local-dynamodb': () => import('./bench/local-dynamodb.js').then((m) => m.benchmark),
  proof: () => import('./bench/proof.js').then((m) => m.benchmark),
  'ses-quota': () => import('./bench/ses-quota.js').then((m) => m.benchmark),
  sender: () => import('./bench/sender.js').then((m) => m.benchmark),
  templates: () => import('./bench/templates.js').then((m) => m.benchmark),
  webhooks: () => import('./bench/webhooks.js').then((m) => m.benchmark),
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(BENCHMARKS);
for (const name of names) {
  const load = BENCHMARKS[name];
  if (!load) {
    console.error(`Unknown benchmark "${name}". Known: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
  const benchmark = await load();
  console.log(`\n== ${benchmark.name} ==`);
  await benchmark.run();
}
