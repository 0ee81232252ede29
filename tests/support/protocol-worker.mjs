// A worker that speaks handler-worker.js's protocol, for the HandlerWorkers tests: a record
// body says what to do — "crash" exits the thread, "throw" fails the batch, "call <service>"
// forwards one call to the main thread and answers its body, "log" sends a log entry;
// anything else succeeds. Every answer names the thread that ran it.
import { BroadcastChannel, parentPort, threadId, workerData } from 'node:worker_threads';

let nextCall = 0;
const pending = new Map();
const call = (service, body) =>
  new Promise((resolve) => {
    nextCall += 1;
    pending.set(nextCall, resolve);
    parentPort.postMessage({ type: 'aws', id: nextCall, service, method: 'POST', path: '/', headers: { 'x-amz-target': 'Test.Op' }, body });
  });

parentPort.on('message', async (message) => {
  if (message.type === 'aws-reply') {
    pending.get(message.id)?.(message.response);
    pending.delete(message.id);
    return;
  }
  const body = message.event.Records[0]?.body ?? '';
  if (body === 'crash') process.exit(3);
  if (body === 'throw') {
    parentPort.postMessage({ type: 'failed', id: message.id, message: 'the handler threw' });
    return;
  }
  if (body === 'log') parentPort.postMessage({ type: 'log', entry: { threadId, handler: message.handler } });
  let answer = null;
  if (body.startsWith('call ')) answer = await call(body.slice(5), JSON.stringify({ from: threadId }));
  if (body === 'slow') await new Promise((resolve) => setTimeout(resolve, 200));
  parentPort.postMessage({ type: 'result', id: message.id, response: { batchItemFailures: [], threadId, answer, setup: workerData.marker } });
});
// workerData.splitStart: a worker with an odd thread id fails before it is ready, one with an
// even id becomes ready late and then says "alive" on a BroadcastChannel until it is stopped.
if (workerData?.splitStart) {
  if (threadId % 2 === 1) throw new Error('this worker fails to start');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const channel = new BroadcastChannel(workerData.splitStart);
  setInterval(() => channel.postMessage('alive'), 20);
}
parentPort.postMessage({ type: 'ready' });
