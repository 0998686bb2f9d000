// How every CLI of the project ends: main's number is the exit code; an unexpected error is
// printed with its stack (a bug to report) and exits 1.
export function runMain(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
