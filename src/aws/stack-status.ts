/**
 * A CloudFormation stack status as a value with plain getters, so the installer's
 * decisions (wait, update, delete first, give up) read as words and are tested over every
 * status CloudFormation has.
 */
export class StackStatus {
  /** Status of a stack that does not exist (never created, or deleted and gone). */
  static readonly NOT_FOUND = new StackStatus('NOT_FOUND');

  constructor(
    readonly name: string,
    readonly reason?: string,
  ) {}

  /** An operation is running; anything else must wait for it. */
  get isInProgress(): boolean {
    return this.name.endsWith('_IN_PROGRESS') && this.name !== 'REVIEW_IN_PROGRESS';
  }

  /** No operation is running (REVIEW_IN_PROGRESS waits for a change set forever, so it counts). */
  get isStable(): boolean {
    return !this.isInProgress;
  }

  /** The stack ended in a `..._COMPLETE` status (successful or rolled back). */
  get isComplete(): boolean {
    return this.name.endsWith('_COMPLETE');
  }

  /** The stack is gone or the name is free. */
  get isDeleted(): boolean {
    return this.name === 'DELETE_COMPLETE' || this.name === 'NOT_FOUND';
  }

  /** Any rollback status, running or finished. */
  get isRollback(): boolean {
    return this.name.includes('ROLLBACK');
  }

  /** The last operation failed: a `_FAILED` status or a finished rollback. */
  get isFailure(): boolean {
    return this.name.endsWith('_FAILED') || (this.isRollback && this.isComplete);
  }

  /** The last operation succeeded and left a working stack. */
  get isSuccess(): boolean {
    return ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE'].includes(this.name);
  }

  /**
   * The first create failed: the stack holds nothing usable and cannot be updated; it has
   * to be deleted before the name can be used again.
   */
  get isCreationFailure(): boolean {
    return ['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED'].includes(this.name);
  }

  /** An update failed and was rolled back: the previous version still runs. */
  get isUpdateRollback(): boolean {
    return this.name === 'UPDATE_ROLLBACK_COMPLETE' || this.name === 'IMPORT_ROLLBACK_COMPLETE';
  }

  /** The rollback of an update failed: only `continue-update-rollback` gets it moving again. */
  get needsContinueRollback(): boolean {
    return this.name === 'UPDATE_ROLLBACK_FAILED' || this.name === 'IMPORT_ROLLBACK_FAILED';
  }

  /** A stable stack that an UpdateStack call may change. */
  get canUpdate(): boolean {
    return [
      'CREATE_COMPLETE',
      'UPDATE_COMPLETE',
      'UPDATE_ROLLBACK_COMPLETE',
      'IMPORT_COMPLETE',
      'IMPORT_ROLLBACK_COMPLETE',
    ].includes(this.name);
  }

  /** The name is taken by a stack that must be deleted before a fresh create. */
  get mustDeleteBeforeCreate(): boolean {
    return this.isCreationFailure || this.name === 'DELETE_FAILED' || this.name === 'REVIEW_IN_PROGRESS';
  }

  toString(): string {
    return this.reason ? `${this.name} (${this.reason})` : this.name;
  }
}
