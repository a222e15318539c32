package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web UI in headless Chromium (Debian's chromium and chromium-driver, driven by Selenium; no browser download) on a
 * real server and the real lab: give the token, move a VM live through the dialog (check, plan, start), watch the chart
 * gain points and the job succeed; start another and cancel it (the VM stays on the source). Screenshots go to
 * {@code target/screenshots/}.
 */
class WebUiIT {
    private static final Path SHOTS = Path.of("target", "screenshots");
    private static ChromeDriver browser;

    @BeforeAll
    static void openBrowser() throws Exception {
        Files.createDirectories(SHOTS);
        ChromeOptions o = new ChromeOptions();
        o.setBinary("/usr/bin/chromium");
        Path profile = Files.createTempDirectory("kvmigrate-chromium");
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1400", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File("/usr/bin/chromedriver")).usingAnyFreePort().build();
        browser = new ChromeDriver(service, o);
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) browser.quit();
    }

    private static void shot(String name) throws Exception {
        Path f = SHOTS.resolve(name + ".png");
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), f, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("[screenshot] " + f.toAbsolutePath());
    }

    private static WebDriverWait waitUpTo(int seconds) {
        return new WebDriverWait(browser, Duration.ofSeconds(seconds), Duration.ofMillis(200));
    }

    /** Read in the page in one go: the page re-renders these elements as events arrive. */
    private static int chartPoints() {
        Object p = browser.executeScript("const c = document.getElementById('chart'); return c ? c.getAttribute('data-points') : null;");
        return p == null ? 0 : Integer.parseInt(p.toString());
    }

    private static String jobState() {
        Object s = browser.executeScript("const e = document.getElementById('job-state'); return e ? e.getAttribute('data-state') : null;");
        return s == null ? null : s.toString();
    }

    private static String text(String id) {
        Object s = browser.executeScript("const e = document.getElementById(arguments[0]); return e ? e.innerText : '';", id);
        return s == null ? "" : s.toString();
    }

    /** Opens the move dialog of {@code vm}, runs the check, then the plan, then starts; returns the job id. */
    private static String moveThroughDialog(String vm, String policy, String bandwidth) {
        browser.get(ServerLab.server().baseUrl() + "/ui/#/");
        WebElement button = waitUpTo(60).until(ExpectedConditions.elementToBeClickable(By.cssSelector(".move-btn[data-vm='" + vm + "']")));
        button.click();
        new Select(browser.findElement(By.id("move-to"))).selectByVisibleText(ServerLab.host(1).name());
        new Select(browser.findElement(By.id("move-policy"))).selectByVisibleText(policy);
        browser.findElement(By.id("move-bandwidth")).sendKeys(bandwidth);
        browser.findElement(By.id("move-check")).click();
        WebElement result = waitUpTo(60).until(ExpectedConditions.presenceOfElementLocated(By.id("check-result")));
        assertThat(result.getAttribute("data-ok")).as(result.getText()).isEqualTo("true");
        waitUpTo(10).until(ExpectedConditions.elementToBeClickable(By.id("move-plan"))).click();
        WebElement plan = waitUpTo(60).until(ExpectedConditions.presenceOfElementLocated(By.id("plan-result")));
        System.out.println("[ui] " + result.getText() + " / " + plan.getText());
        waitUpTo(10).until(ExpectedConditions.elementToBeClickable(By.id("move-start"))).click();
        waitUpTo(30).until(d -> d.getCurrentUrl().contains("#/jobs/j-"));
        String url = browser.getCurrentUrl();
        return url.substring(url.indexOf("#/jobs/") + "#/jobs/".length());
    }

    @Test
    void ui_tokenThenMoveThroughTheDialog_chartGrowsAndJobSucceeds_thenAnotherIsCancelled() throws Exception {
        LabVm.Definition moved = ServerLab.startGuest("srv-ui-move",
                TestGuest.Params.defaults().withSpanMiB(64).withDelay(50_000_000).withContent(TestGuest.Content.RANDOM));
        LabVm.Definition kept = ServerLab.startGuest("srv-ui-cancel", TestGuest.Params.defaults().withSpanMiB(64).withDelay(0));
        try {
            browser.get(ServerLab.server().baseUrl() + "/ui/");
            WebElement tokenField = waitUpTo(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
            // a wrong token first: refused, still on the token form
            tokenField.sendKeys("wrong");
            browser.findElement(By.id("token-save")).click();
            waitUpTo(10).until(ExpectedConditions.textToBePresentInElementLocated(By.id("token-error"), "UNAUTHORIZED"));
            tokenField.clear();
            tokenField.sendKeys(ServerLab.token());
            browser.findElement(By.id("token-save")).click();
            waitUpTo(60).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#hosts tr td")));
            shot("1-hosts");

            String id = moveThroughDialog(moved.name(), "safe", "8");
            waitUpTo(120).until(d -> chartPoints() >= 3 || "succeeded".equals(jobState()));
            int midPoints = chartPoints();
            String midState = jobState();
            shot("2-job-running");
            waitUpTo(300).until(d -> List.of("succeeded", "failed", "cancelled", "interrupted").contains(jobState()));
            assertThat(jobState()).isEqualTo("succeeded");
            assertThat(midState).isEqualTo("running");
            assertThat(midPoints).isGreaterThanOrEqualTo(3);
            waitUpTo(10).until(d -> chartPoints() > midPoints);
            waitUpTo(10).until(d -> text("job-figures").contains(" ms"));
            shot("3-job-succeeded");
            assertThat(text("job-figures")).contains("running on\t" + ServerLab.host(1).name());
            assertThat(ServerLab.facade().job(id).orElseThrow().state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(ServerLab.vmNames(1)).contains(moved.name() + ":RUNNING:true");
            assertThat(ServerLab.vmNames(0)).noneMatch(n -> n.startsWith(moved.name() + ":"));

            String second = moveThroughDialog(kept.name(), "plain", "8");
            waitUpTo(120).until(d -> chartPoints() >= 1);
            WebElement cancel = waitUpTo(10).until(ExpectedConditions.elementToBeClickable(By.id("job-cancel")));
            shot("4-second-job-running");
            assertThat(ServerLab.facade().job(second).orElseThrow().request()).containsEntry("bandwidth", "8").containsEntry("policy", "plain");
            cancel.click();
            waitUpTo(120).until(d -> "cancelled".equals(jobState()));
            waitUpTo(10).until(d -> text("decisions").contains("abort"));
            // the decision is marked on the chart's time axis
            waitUpTo(10).until(d -> "1".equals(String.valueOf(browser.executeScript(
                    "return document.getElementById('chart').getAttribute('data-decisions-drawn');"))));
            shot("5-second-job-cancelled");
            assertThat(ServerLab.facade().job(second).orElseThrow().state()).isEqualTo(JobState.CANCELLED);
            assertThat(ServerLab.vmNames(0)).contains(kept.name() + ":RUNNING:true");
            assertThat(ServerLab.vmNames(1)).noneMatch(n -> n.startsWith(kept.name() + ":"));

            // the history, filtered by VM
            browser.get(ServerLab.server().baseUrl() + "/ui/#/jobs?vm=" + moved.name());
            browser.navigate().refresh();
            waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#jobs tr[data-job='" + id + "']")));
            assertThat(browser.findElements(By.cssSelector("#jobs tr[data-job]"))).hasSize(
                    ServerLab.facade().jobs(JobFilter.all().vm(moved.name())).size());
            assertThat(browser.findElements(By.cssSelector("#jobs tr[data-job='" + second + "']"))).isEmpty();
            shot("6-history");
        } catch (Exception | AssertionError e) {
            shot("failure");
            System.out.println("[ui] page at failure (" + browser.getCurrentUrl() + "):\n" + text("main"));
            throw e;
        } finally {
            ServerLab.removeEverywhere(moved.name());
            ServerLab.removeEverywhere(kept.name());
        }
    }
}
