package io.kvmigrate.lab.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped dirtier.bin must be exactly what nasm makes of the shipped dirtier.asm. */
class DirtierAssemblyTest {

    @Test
    void shippedBinary_isWhatNasmAssemblesFromShippedSource(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("dirtier.asm");
        try (InputStream in = DirtierAssemblyTest.class.getResourceAsStream("/guest/dirtier.asm")) {
            assertThat(in).as("classpath resource /guest/dirtier.asm").isNotNull();
            Files.copy(in, source);
        }
        Path output = dir.resolve("dirtier.bin");
        Path log = dir.resolve("nasm.log");

        Process nasm;
        try {
            nasm = new ProcessBuilder(List.of("nasm", "-f", "bin", "-o", output.toString(), source.toString()))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
        } catch (IOException e) {
            // Not a skip: CI has nasm, and a missing assembler must not hide a stale dirtier.bin.
            throw new AssertionError("nasm is required to check dirtier.bin but could not be started"
                    + " (is it installed and on PATH? Debian: apt-get install nasm): " + e.getMessage(), e);
        }
        if (!nasm.waitFor(60, TimeUnit.SECONDS)) {
            nasm.destroyForcibly();
            fail("nasm did not finish within 60 s");
        }
        String messages = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(nasm.exitValue()).as("nasm exit status; output:%n%s", messages).isZero();

        byte[] assembled = Files.readAllBytes(output);
        assertThat(assembled).as("nasm output size").hasSize(512);
        assertThat(assembled)
                .as("shipped dirtier.bin differs from nasm's build of dirtier.asm: reassemble with"
                        + " 'nasm -f bin -o dirtier.bin dirtier.asm' in kvmigrate-lab/src/main/resources/guest")
                .isEqualTo(TestGuest.bootSector());
    }
}
