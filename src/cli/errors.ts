/** An error meant for the user: printed as one line, exit status `code`. */
export class UsageError extends Error {
  constructor(message: string, readonly code = 2) {
    super(message);
  }
}
