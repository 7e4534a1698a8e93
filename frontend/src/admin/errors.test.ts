import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from '../api/client';
import { AdminApiError, call, describeAdminError, fieldRefusals, isOperatorsOnly } from './errors';

function answer(status: number, body: unknown) {
  return Promise.resolve({ error: body, response: new Response(null, { status }) });
}

describe('call', () => {
  it('gives the data of a 2xx answer', async () => {
    await expect(call(Promise.resolve({ data: { ok: 1 }, response: new Response(null, { status: 200 }) }))).resolves.toEqual({
      ok: 1,
    });
  });
  it('keeps the whole body of a refusal', async () => {
    const e: unknown = await call(answer(503, { detail: 'encoder_restart_failed', error: 'no ffmpeg' })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AdminApiError);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as AdminApiError).status).toBe(503);
    expect((e as AdminApiError).detail).toBe('encoder_restart_failed');
    expect(describeAdminError(e)).toBe('The encoder did not start: no ffmpeg');
  });
  it('turns no answer into a NetworkError', async () => {
    await expect(call(Promise.reject(new TypeError('Failed to fetch')))).rejects.toBeInstanceOf(NetworkError);
  });
});

describe('describeAdminError', () => {
  it('says the conflicts of the encoder actions in words', () => {
    expect(describeAdminError(new ApiError(409, 'already_running'))).toBe('Already running.');
    expect(describeAdminError(new ApiError(409, 'not_running'))).toBe('Not running.');
    expect(describeAdminError(new ApiError(503, 'simlive_unavailable'))).toBe(
      'The encoder manager is not running on this server.',
    );
  });
  it("says a 422's fields in words", () => {
    const e = new ApiError(422, [
      {
        loc: ['body', 'catchup_window_hours'],
        msg: 'catchup_window_hours must be >= cutv_window_hours (48)',
        type: 'value_error',
      },
    ]);
    expect(fieldRefusals(e)).toEqual([
      { loc: ['body', 'catchup_window_hours'], msg: 'catchup_window_hours must be >= cutv_window_hours (48)' },
    ]);
    expect(describeAdminError(e)).toBe('Retention must be at least the viewer window (48 h).');
    expect(fieldRefusals(new ApiError(422, 'not a list'))).toEqual([]);
    expect(fieldRefusals(new ApiError(409, 'already_running'))).toEqual([]);
  });
  it('tells a viewer the console is for operators', () => {
    expect(isOperatorsOnly(new ApiError(403, 'admin_required'))).toBe(true);
    expect(isOperatorsOnly(new ApiError(403, 'subscription_required'))).toBe(false);
    expect(describeAdminError(new ApiError(403, 'admin_required'))).toBe('This page is for operators.');
  });
  it('says when the service cannot be reached or failed', () => {
    expect(describeAdminError(new NetworkError())).toMatch(/cannot be reached/);
    expect(describeAdminError(new ApiError(500, undefined))).toBe('The service failed (HTTP 500). Try again in a moment.');
    expect(describeAdminError(new ApiError(418, 'teapot_refused'))).toBe('The service refused: teapot refused.');
  });
});
