/** Where a library writes a line for the user: libraries never print; the command or executor decides where it goes. */
export type Log = (line: string) => void;
