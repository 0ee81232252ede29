import { describe, it, expect } from '@jest/globals';
import type { ChangeSetDescription, CloudFormationApi, ResourceChange } from '../../../src/aws/cloudformation.js';
import { isNoChangesReason } from '../../../src/aws/cloudformation.js';
import {
  changeLines,
  dataRemovals,
  dataReplacements,
  replaces,
  summarizeChanges,
  summaryLine,
  waitForChangeSet,
} from '../../../src/installer/change-set.js';

const change = (action: string, logicalId: string, type: string, replacement?: string, scope: string[] = []): ResourceChange => ({
  action,
  logicalId,
  type,
  scope,
  ...(replacement ? { replacement } : {}),
});

const CHANGES: ResourceChange[] = [
  change('Add', 'AttachmentBucketPolicy', 'AWS::S3::BucketPolicy'),
  change('Modify', 'EmailSenderFunction', 'AWS::Lambda::Function', 'False', ['Properties', 'Tags']),
  change('Modify', 'SuppressionTable', 'AWS::DynamoDB::Table', 'True', ['Properties']),
  change('Modify', 'SendQueue', 'AWS::SQS::Queue', 'Conditional', ['Properties']),
  change('Modify', 'UnsubscribeFunctionUrl', 'AWS::Lambda::Url', 'True', ['Properties']),
  change('Remove', 'FeedbackDeadLetterQueue', 'AWS::SQS::Queue'),
  change('Import', 'TrackingTable', 'AWS::DynamoDB::Table'),
];

describe('summarizeChanges', () => {
  it('sorts changes into added, modified, replaced (True or Conditional), removed and imported', () => {
    const s = summarizeChanges(CHANGES);
    expect(s.added.map((c) => c.logicalId)).toEqual(['AttachmentBucketPolicy']);
    expect(s.modified.map((c) => c.logicalId)).toEqual(['EmailSenderFunction']);
    expect(s.replaced.map((c) => c.logicalId)).toEqual(['SuppressionTable', 'SendQueue', 'UnsubscribeFunctionUrl']);
    expect(s.removed.map((c) => c.logicalId)).toEqual(['FeedbackDeadLetterQueue']);
    expect(s.imported.map((c) => c.logicalId)).toEqual(['TrackingTable']);
  });

  it('counts each kind in one line, leaving out the kinds that are absent', () => {
    expect(summaryLine(summarizeChanges(CHANGES))).toBe('7 resources: 1 to import, 1 to add, 1 to modify, 3 to replace, 1 to remove');
    expect(summaryLine(summarizeChanges([CHANGES[1]!]))).toBe('1 resource: 1 to modify');
    expect(summaryLine(summarizeChanges([]))).toBe('no resource changes');
  });

  it('prints one line per change, replacements in capitals with what changes', () => {
    const lines = changeLines(summarizeChanges(CHANGES));
    expect(lines).toHaveLength(7);
    expect(lines.find((l) => l.includes('SuppressionTable'))).toMatch(/! SuppressionTable\s+AWS::DynamoDB::Table {2}REPLACE {2}\(Properties\)/);
    expect(lines.find((l) => l.includes('SendQueue'))).toContain('REPLACE (conditional)');
    expect(lines.find((l) => l.includes('EmailSenderFunction'))).toContain('modify  (Properties, Tags)');
  });

  it('counts the resources whose only change is the stack tags on one line', () => {
    const retagged = ['A', 'B', 'C'].map((id) => change('Modify', id, 'AWS::SQS::Queue', 'False', ['Tags']));
    const lines = changeLines(summarizeChanges([...retagged, CHANGES[1]!]));
    expect(lines).toEqual([
      expect.stringContaining('~ EmailSenderFunction'),
      "  ~ 3 other resources: tags only (the stack's tags, such as its version)",
    ]);
  });
});

describe('data-losing changes', () => {
  it('replacement means Modify with Replacement True or Conditional, never False', () => {
    expect(replaces(change('Modify', 'X', 'AWS::SQS::Queue', 'True'))).toBe(true);
    expect(replaces(change('Modify', 'X', 'AWS::SQS::Queue', 'Conditional'))).toBe(true);
    expect(replaces(change('Modify', 'X', 'AWS::SQS::Queue', 'False'))).toBe(false);
    expect(replaces(change('Add', 'X', 'AWS::SQS::Queue'))).toBe(false);
  });

  it('flags replacements of tables and queues, not of a function URL', () => {
    expect(dataReplacements(CHANGES).map((c) => c.logicalId)).toEqual(['SuppressionTable', 'SendQueue']);
  });

  it('flags a data resource leaving the stack', () => {
    expect(dataRemovals(CHANGES).map((c) => c.logicalId)).toEqual(['FeedbackDeadLetterQueue']);
  });
});

describe('isNoChangesReason', () => {
  it("recognises both of CloudFormation's wordings for nothing to do", () => {
    expect(isNoChangesReason("The submitted information didn't contain changes. Submit different information to create a change set.")).toBe(true);
    expect(isNoChangesReason('No updates are to be performed.')).toBe(true);
    expect(isNoChangesReason('Template format error: Unresolved resource dependencies [X]')).toBe(false);
    expect(isNoChangesReason(undefined)).toBe(false);
  });
});

describe('waitForChangeSet', () => {
  function api(statuses: string[]): { api: CloudFormationApi; calls: number } {
    const state = { calls: 0 };
    const fake = {
      describeChangeSet: async (): Promise<ChangeSetDescription> => {
        const status = statuses[Math.min(state.calls++, statuses.length - 1)]!;
        return { changeSetId: 'cs', stackId: 'st', status, changes: [] };
      },
    } as unknown as CloudFormationApi;
    return {
      api: fake,
      get calls() {
        return state.calls;
      },
    };
  }

  it('polls while CloudFormation computes the change set and returns the final description', async () => {
    const probe = api(['CREATE_PENDING', 'CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    const slept: number[] = [];
    const out = await waitForChangeSet(probe.api, 'cs', 'st', { pollMs: 5, sleep: async (ms) => void slept.push(ms) });
    expect(out.status).toBe('CREATE_COMPLETE');
    expect(probe.calls).toBe(3);
    expect(slept).toEqual([5, 5, 5]);
  });

  it('returns a FAILED change set as it is (the caller reads the reason)', async () => {
    const out = await waitForChangeSet(api(['FAILED']).api, 'cs', 'st', { sleep: async () => undefined });
    expect(out.status).toBe('FAILED');
  });

  it('gives up after the poll limit', async () => {
    await expect(waitForChangeSet(api(['CREATE_IN_PROGRESS']).api, 'cs', 'st', { sleep: async () => undefined, maxPolls: 3 })).rejects.toThrow(
      'still CREATE_IN_PROGRESS after 3 polls',
    );
  });
});
