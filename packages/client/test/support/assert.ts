import * as assert from 'uvu/assert';
import { SessionClientError } from '../../src/index.js';

/** The SessionClientError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejects(promise: Promise<unknown>): Promise<SessionClientError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, SessionClientError);
    return error as SessionClientError;
  }
  throw new Error('expected a rejection');
}
