/** A heap graph that cannot be read or analysed; its message is one line meant for the user. */
export class HeapGraphError extends Error {}
