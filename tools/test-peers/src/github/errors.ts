// GitHub's error replies as the double throws them. Its own module so auth.ts and http.ts need not import each other.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (): HttpError => new HttpError(404, 'Not Found');

/** GitHub's 422 for semantic failures: message 'Validation Failed' plus an errors array. */
export function validationFailed(errors: Array<Record<string, unknown>>, message = 'Validation Failed'): HttpError {
  return new HttpError(422, message, { errors });
}
