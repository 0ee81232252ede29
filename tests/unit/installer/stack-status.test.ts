import { describe, it, expect } from '@jest/globals';
import { StackStatus as SdkStackStatus } from '@aws-sdk/client-cloudformation';
import { StackStatus } from '../../../src/aws/stack-status.js';

/** Every status CloudFormation has, with what the installer must make of it. */
const EXPECTED: Record<string, { inProgress: boolean; success: boolean; failure: boolean; canUpdate: boolean; mustDelete: boolean; rollback: boolean }> = {
  CREATE_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: false },
  CREATE_COMPLETE: { inProgress: false, success: true, failure: false, canUpdate: true, mustDelete: false, rollback: false },
  CREATE_FAILED: { inProgress: false, success: false, failure: true, canUpdate: false, mustDelete: true, rollback: false },
  DELETE_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: false },
  DELETE_COMPLETE: { inProgress: false, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: false },
  DELETE_FAILED: { inProgress: false, success: false, failure: true, canUpdate: false, mustDelete: true, rollback: false },
  IMPORT_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: false },
  IMPORT_COMPLETE: { inProgress: false, success: true, failure: false, canUpdate: true, mustDelete: false, rollback: false },
  IMPORT_ROLLBACK_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: true },
  IMPORT_ROLLBACK_COMPLETE: { inProgress: false, success: false, failure: true, canUpdate: true, mustDelete: false, rollback: true },
  IMPORT_ROLLBACK_FAILED: { inProgress: false, success: false, failure: true, canUpdate: false, mustDelete: false, rollback: true },
  REVIEW_IN_PROGRESS: { inProgress: false, success: false, failure: false, canUpdate: false, mustDelete: true, rollback: false },
  ROLLBACK_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: true },
  ROLLBACK_COMPLETE: { inProgress: false, success: false, failure: true, canUpdate: false, mustDelete: true, rollback: true },
  ROLLBACK_FAILED: { inProgress: false, success: false, failure: true, canUpdate: false, mustDelete: true, rollback: true },
  UPDATE_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: false },
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: false },
  UPDATE_COMPLETE: { inProgress: false, success: true, failure: false, canUpdate: true, mustDelete: false, rollback: false },
  UPDATE_FAILED: { inProgress: false, success: false, failure: true, canUpdate: false, mustDelete: false, rollback: false },
  UPDATE_ROLLBACK_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: true },
  UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS: { inProgress: true, success: false, failure: false, canUpdate: false, mustDelete: false, rollback: true },
  UPDATE_ROLLBACK_COMPLETE: { inProgress: false, success: false, failure: true, canUpdate: true, mustDelete: false, rollback: true },
  UPDATE_ROLLBACK_FAILED: { inProgress: false, success: false, failure: true, canUpdate: false, mustDelete: false, rollback: true },
};

describe('StackStatus', () => {
  it('has an expectation for every status the SDK knows, and no stale one', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.values(SdkStackStatus).sort());
  });

  for (const [name, want] of Object.entries(EXPECTED)) {
    it(`classifies ${name}`, () => {
      const status = new StackStatus(name);
      expect({
        inProgress: status.isInProgress,
        success: status.isSuccess,
        failure: status.isFailure,
        canUpdate: status.canUpdate,
        mustDelete: status.mustDeleteBeforeCreate,
        rollback: status.isRollback,
      }).toEqual(want);
      expect(status.isStable).toBe(!want.inProgress);
    });
  }

  it('treats a missing stack as deleted and stable', () => {
    expect(StackStatus.NOT_FOUND.isDeleted).toBe(true);
    expect(StackStatus.NOT_FOUND.isStable).toBe(true);
    expect(new StackStatus('DELETE_COMPLETE').isDeleted).toBe(true);
  });

  it('knows which states need continue-update-rollback', () => {
    const needing = Object.keys(EXPECTED).filter((n) => new StackStatus(n).needsContinueRollback);
    expect(needing.sort()).toEqual(['IMPORT_ROLLBACK_FAILED', 'UPDATE_ROLLBACK_FAILED']);
  });

  it('marks only a failed first create as a creation failure', () => {
    const failures = Object.keys(EXPECTED).filter((n) => new StackStatus(n).isCreationFailure);
    expect(failures.sort()).toEqual(['CREATE_FAILED', 'ROLLBACK_COMPLETE', 'ROLLBACK_FAILED']);
  });

  it('prints the reason with the name', () => {
    expect(String(new StackStatus('ROLLBACK_COMPLETE', 'boom'))).toBe('ROLLBACK_COMPLETE (boom)');
  });
});
