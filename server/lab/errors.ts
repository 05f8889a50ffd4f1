/** An error the lab explains to a person: what went wrong, and what to do about it. */
export class LabError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'LabError';
  }

  override toString(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}
