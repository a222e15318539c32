package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The drain is a job of jobs, on three real lab hosts: {@code kvmigrate jobs cancel} of the drain's own job, from another
 * command, while its first move runs: the drain ends cancelled (exit VMS_LEFT_BEHIND), the running move is aborted (or had
 * just finished), the queued ones never start, and every guest runs on exactly one host and keeps counting.
 */
class EvacuateCancelIT {
    private static final List<String> VMS = List.of("it-evcan-1", "it-evcan-2", "it-evcan-3");

    @BeforeAll
    static void guests() {
        ItLab.get(3);
        for (String vm : VMS) ItLab.startGuest(vm, Lab.demoGuest());
    }

    @AfterAll
    static void cleanUp() {
        for (String vm : VMS) ItLab.removeEverywhereQuietly(vm);
    }

    private static long counter(int host, String vm) {
        try (HostSession s = ItLab.open(host)) {
            return LabVm.passCounter(s, vm).orElse(-1);
        }
    }

    private static Optional<Job> drain(Kvmigrate k, Instant since) {
        return k.jobs(JobFilter.all().limit(100)).stream().filter(j -> j.kind() == JobKind.EVACUATION && !j.createdAt().isBefore(since)).findFirst();
    }

    @Test
    void jobsCancelOfTheDrainJob_stopsQueuedMoves_abortsTheRunningOne_everyGuestOnOneHostAndCounting() throws Exception {
        String h1 = ItLab.host(0).name();
        Map<String, Long> before = new HashMap<>();
        for (String vm : VMS) before.put(vm, counter(0, vm));
        Instant t0 = Instant.now().minusMillis(1);
        // one at a time at 8 MiB/s: each move (16 MiB span, about 2 MB/s rewritten) takes seconds, so the first still runs when
        // cancelled (at 4 MiB/s the demo guest does not converge under policy safe)
        CompletableFuture<ItLab.Run> evacuate = CompletableFuture.supplyAsync(() -> ItLab.cli("evacuate", h1, "--to", ItLab.host(1).name() + ","
                + ItLab.host(2).name(), "--max-parallel", "1", "--max-in-per-host", "1", "--bandwidth", "8"));
        String drainId;
        try (Kvmigrate k = ItLab.facade()) {
            assertThat(Poll.until(Duration.ofSeconds(120), Duration.ofMillis(100), () -> drain(k, t0).map(d -> k.children(d.id()).stream()
                    .anyMatch(c -> c.state() == JobState.RUNNING)).orElse(false))).as("a move of the drain running").isTrue();
            drainId = drain(k, t0).orElseThrow().id();
        }
        ItLab.Run cancel = ItLab.cli("jobs", "cancel", drainId);
        assertThat(cancel.exit()).as(cancel.err()).isZero();
        ItLab.Run run = evacuate.get(180, TimeUnit.SECONDS);
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(ErrorCode.VMS_LEFT_BEHIND.exitCode());
        assertThat(run.out()).contains("Cancelled", "drain job " + drainId);

        try (Kvmigrate k = ItLab.facade()) {
            Job d = k.job(drainId).orElseThrow();
            assertThat(d.state()).isEqualTo(JobState.CANCELLED);
            List<Job> moves = k.children(drainId);
            System.out.println("cancelled drain " + drainId + ": moves " + moves.stream().map(m -> m.vmName() + "=" + m.state()).toList());
            // the cancel came while the first ran: at most it and one started just before the request was read
            assertThat(moves).hasSizeBetween(1, 2);
            assertThat(moves).allSatisfy(m -> assertThat(m.state()).isIn(JobState.CANCELLED, JobState.SUCCEEDED));
            assertThat(moves).anySatisfy(m -> assertThat(m.state()).isEqualTo(JobState.CANCELLED));
        }
        for (String vm : VMS) {
            int on = -1;
            for (int i = 0; i < 3; i++) {
                if (ItLab.vmNames(i).contains(vm + ":RUNNING:true")) {
                    assertThat(on).as(vm + " runs on two hosts").isEqualTo(-1);
                    on = i;
                }
            }
            assertThat(on).as(vm + " runs somewhere").isNotNegative();
            int host = on;
            long seen = counter(host, vm);
            assertThat(seen).as(vm).isGreaterThanOrEqualTo(before.get(vm));
            assertThat(Poll.until(Duration.ofSeconds(30), Duration.ofMillis(200), () -> counter(host, vm) > seen)).as(vm + " still counting").isTrue();
        }
        // the queued ones never moved
        long onSource = VMS.stream().filter(vm -> ItLab.vmNames(0).contains(vm + ":RUNNING:true")).count();
        assertThat(onSource).isGreaterThanOrEqualTo(2);
    }
}
