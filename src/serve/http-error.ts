// Errors the service answers with: a status code and a one-line message that names no server path.

export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export const STATUS_NAMES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 408: 'Request Timeout', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error', 503: 'Service Unavailable' };


/** Absolute paths in a message shown as their last part: answers do not reveal the server's files. */
export function redactPaths(message: string): string {
  return message.replace(/(^|[\s"'(=:])\/(?:[^\s"'():,]+\/)+([^\s"'():,/]*)/g, (_m, pre: string, last: string) => `${pre}…/${last}`);
}

