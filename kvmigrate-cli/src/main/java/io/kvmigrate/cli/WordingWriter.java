package io.kvmigrate.cli;

import java.io.PrintWriter;

/**
 * Everything the CLI prints goes through here: the core names request fields as {@code {field}} tokens, which this
 * front end prints as its option names ({@code {maxDowntime} -> --max-downtime}), in text and JSON alike, so no core
 * message needs to know about flags and no command can forget to word one.
 */
final class WordingWriter extends PrintWriter {
    private WordingWriter(PrintWriter out) {
        super(out, true);
    }

    static PrintWriter around(PrintWriter out) {
        return out instanceof WordingWriter ? out : new WordingWriter(out);
    }

    @Override
    public void write(String s, int off, int len) {
        String part = s.substring(off, off + len);
        String worded = Facade.words(part);
        super.write(worded, 0, worded.length());
    }

    @Override
    public void write(char[] buf, int off, int len) {
        write(new String(buf, off, len), 0, len);
    }
}
