import { describe, expect, it } from 'vitest';
import { countStates, stateLook } from './encoderState';

describe('stateLook', () => {
  it('gives each state a word and a tone', () => {
    expect(stateLook('running', true)).toEqual({ word: 'Running', tone: 'ok' });
    expect(stateLook('starting', true)).toEqual({ word: 'Starting', tone: 'busy' });
    expect(stateLook('stopped', false)).toEqual({ word: 'Stopped', tone: 'off' });
    expect(stateLook('error', false)).toEqual({ word: 'Error', tone: 'bad' });
  });
  it('says when the supervisor is bringing an encoder back', () => {
    expect(stateLook('error', true)).toEqual({ word: 'Error (restarting)', tone: 'bad' });
    expect(stateLook('stopped', true).tone).toBe('busy');
  });
  it('writes a state it does not know', () => {
    expect(stateLook('draining', true)).toEqual({ word: 'Draining', tone: 'off' });
    expect(stateLook('', true).word).toBe('Unknown');
  });
});

describe('countStates', () => {
  it('counts the encoders in each state', () => {
    expect(countStates([{ state: 'running' }, { state: 'running' }, { state: 'error' }, { state: 'other' }])).toEqual({
      running: 2,
      starting: 0,
      stopped: 0,
      error: 1,
    });
  });
});
