/**
 * proof: the SPEC §8 figures in one run, then one summary table (docs/BENCHMARKS.md).
 *
 *   cost-per-email  AWS calls and read capacity per email at 1 … 100,000 emails already sent
 *                   today, engine vs the naive COUNT design (counts: machine-independent)
 *   templates       renders per second and CPU per render, cached vs cold
 *   cold-start      handler zip sizes and module init time
 *   local-burst     LOCAL_BURST_N requests (default 10,000) through `sesmailengine local`
 *
 * Each part prints its own detail first. Takes a few minutes on a 2-core machine.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { measureCostPerEmail, printCostPerEmail, VOLUMES } from './cost-per-email.js';
import { measureTemplates, printTemplates } from './templates.js';
import { measureColdStart, printColdStart } from './cold-start.js';
import { runBurst } from './local-burst.js';

const BURST = Number(process.env.LOCAL_BURST_N ?? 10_000);
const PUBLISHERS = Number(process.env.LOCAL_BURST_PUBLISHERS ?? 8);

function machine(): string {
  const list = cpus();
  return `${list.length} × ${list[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${process.platform}`;
}

const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');

export const benchmark = {
  name: 'proof: SPEC §8 in one run (cost per email, templates, cold start, local burst)',
  async run(): Promise<void> {
    const startedLoad = load();
    const started = performance.now();

    console.log('\n-- cost per email --');
    const cost = await measureCostPerEmail();
    printCostPerEmail(cost);

    console.log('\n-- templates --');
    const templates = await measureTemplates();
    printTemplates(templates);

    console.log('\n-- cold start --');
    const cold = await measureColdStart();
    printColdStart(cold);

    console.log(`\n-- local burst (${BURST.toLocaleString('en-US')} requests) --`);
    const burst = await runBurst(BURST, PUBLISHERS);

    const line = (label: string, value: string) => console.log(`  ${label.padEnd(52)}${value}`);
    const num = (n: number, digits = 2) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    console.log('\n== proof: summary ==');
    console.log(`machine: ${machine()}; load average ${startedLoad} at start, ${load()} at end; ${((performance.now() - started) / 60000).toFixed(1)} min`);
    console.log(`\ncost per email, warm path, batches of 10 (counts; machine-independent)`);
    line('emails already sent today', VOLUMES.map((v) => v.toLocaleString('en-US').padStart(10)).join(''));
    line('engine: AWS calls per email besides SES', cost.map((r) => num(r.engineCalls, 3).padStart(10)).join(''));
    line('engine: SES SendEmail per email', cost.map((r) => num(r.engineSesCalls, 3).padStart(10)).join(''));
    line('engine: S3 template reads per email', cost.map((r) => num(r.perEmail.GetObject ?? 0, 3).padStart(10)).join(''));
    line('engine: read capacity units per email', cost.map((r) => num(r.engineReadUnits, 3).padStart(10)).join(''));
    line('naive COUNT: pages per send', cost.map((r) => num(r.naive.pages, 0).padStart(10)).join(''));
    line('naive COUNT: index items read per send', cost.map((r) => r.naive.items.toLocaleString('en-US').padStart(10)).join(''));
    line('naive: AWS calls per email besides SES', cost.map((r) => num(r.naive.calls, 3).padStart(10)).join(''));
    line('naive: read capacity units per email', cost.map((r) => num(r.naive.totalReadUnits, 1).padStart(10)).join(''));
    line('naive ÷ engine: calls', cost.map((r) => `${num(r.naive.calls / r.engineCalls, 2)}×`.padStart(10)).join(''));
    line('naive ÷ engine: read capacity', cost.map((r) => `${num(r.naive.totalReadUnits / r.engineReadUnits, 0)}×`.padStart(10)).join(''));

    console.log('\ntemplates, all eight starters (renders/s: wall clock here; CPU ms per render)');
    line('cached (compiled once)', `${Math.round(templates.cached.perSecond).toLocaleString('en-US')} renders/s, ${templates.cached.cpuMsPerRender.toFixed(3)} CPU ms`);
    line('cold: compiled for each render', `${Math.round(templates.compile.perSecond).toLocaleString('en-US')} renders/s, ${templates.compile.cpuMsPerRender.toFixed(3)} CPU ms`);
    line('cold: 3 S3 GETs + compile for each render', `${Math.round(templates.s3.perSecond).toLocaleString('en-US')} renders/s, ${templates.s3.cpuMsPerRender.toFixed(3)} CPU ms`);
    line('cached ÷ cold (CPU per render)', `${(templates.compile.cpuMsPerRender / templates.cached.cpuMsPerRender).toFixed(0)}× vs compile, ${(templates.s3.cpuMsPerRender / templates.cached.cpuMsPerRender).toFixed(0)}× vs S3 + compile`);

    console.log(`\nhandlers (zip as installed; init = loading the bundle in a fresh node, medians of ${cold.runs}, minus bare node: wall clock here)`);
    for (const h of cold.handlers) {
      line(h.name, `zip ${(h.zipBytes / 1024).toFixed(1)} KiB, init ${h.wallMs.toFixed(0)} ms wall / ${h.importMs.toFixed(0)} ms import / ${h.cpuMs.toFixed(0)} ms CPU`);
    }

    console.log(`\nlocal burst through sesmailengine local (wall clock here)`);
    line('requests', `${BURST.toLocaleString('en-US')} from ${PUBLISHERS} publishers in PutEvents batches of 10`);
    line('emails per second, end to end', `${num(burst.emailsPerSecond, 0)} (all tracked after ${num(burst.seconds, 1)} s; feedback drained after ${num(burst.feedbackSeconds, 1)} s)`);
    line('tracking records / DLQ messages / handler errors', `${burst.records.toLocaleString('en-US')} / ${burst.dlq} / ${burst.handlerErrors}`);
    line('CPU ms per email', Object.entries(burst.cpuMsPerEmail).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '));
  },
};
