"""Noise is not degradation (issue 10): the 3-minute version of bench/soak.

The lab, the traffic and the noise are bench/soak's (noise_lab.py): the agent at its default
verdict settings (window 10 s, rise 2, fall 2, hold-down 3, degraded_p99 1 s...) judges mx1
and mx2 (smtp-sink) and a Knot server while the client sends ~20 SMTP sessions per window to
the effective MX and 2 glibc lookups per second, and mx1's and the DNS server's links carry
20 +- 15 ms jitter, 1 % loss per direction, a 7-9 s burst of 10-18 % loss and a 1-2 s stall.

Scaling. Windows and timers stay at their defaults: shorter windows would hold fewer
connections each, and the problem is exactly how few samples one 10-s window holds (with ~20
connections its p99 is its slowest one; a lost SYN costs 1 s). What scales is the length:
180 s instead of 1800 s, so one burst and one stall per link instead of five (0.5 rounded up:
more noise per minute than the soak, not less). Done-when allows 2 DEGRADED transitions per
target in 30 minutes, 0.2 in 3 minutes; the bound here is 1, the smallest that is not zero
(an implementation at the 30-minute bound would break 0 in 18 % of runs, 1 in under 2 %).
0 DOWN, 0 failovers and a stable effective MX (never a change, mx1 throughout) are not scaled.
A bound on transitions alone would pass a target that goes DEGRADED once and stays there, so
each target is also DEGRADED at most 25 % of the run: one episode (the hold-down's 3 windows,
then 2 to rise) and no more.

The outage variant keeps the defaults but failback_hold (30 s, so the test fits in minutes):
mx1 resets every SYN for 50 s under the same noise; DOWN and the failover hook within 3 windows
of the fault, the failback hook within failback_hold + 2 windows of the recovery. The noise
starts right after a window closes (the warm-up ends when a poll sees the last target turn
HEALTHY), so fault and recovery at 45 s and 95 s fall mid-window: a recovery just after a
window boundary would spend most of a window in a window that still holds the fault, and
the phase, not the verdict logic, would decide the failback bound (with rise 2 the earliest
failback is the rest of that window + 2 windows + failback_hold - 1 window).

Failovers are counted from the hook's own record (a file it appends to), slow connects from the
client's own timings, the noise from nftables' counters and the delayers' statistics: not from
the agent.
"""
import unittest

import lab as L
import noise_lab as N

WINDOW = 10.0  # the agent's default verdict window
NOISE_S = 180
MX1 = "mx1.example.test"


class NoiseSoak(unittest.TestCase):
    def soak(self, duration, seed, **kw):
        L.require_root(self)
        lab = N.NoiseLab()
        self.addCleanup(lab.down)
        s = N.run_soak(lab, duration, noise=N.Noise(bursts=1, stalls=1), seed=seed,
                       port=10092, **kw)
        print("\n" + N.table(s))
        for name, t in s["targets"].items():
            for e in t["degraded_window_evidence"]:
                print(f"  {name} DEGRADED at {e['t']} s after a window of {e['attempts']} "
                      f"attempts, {e['errors']} errors, {e['timeouts']} timeouts, p99 "
                      f"{e['p99_seconds'] * 1000:.0f} ms")
        return s

    def assert_noise_was_there(self, s, duration):
        """The test cannot pass for lack of noise or traffic: counted where they happened."""
        nft, dl = s["noise_applied"]["nft"], s["noise_applied"]["delayers"]
        for link in N.NoiseLab.LINKS:
            with self.subTest(noise=link):
                self.assertGreater(nft[link]["drop_in"], 0)
                self.assertGreater(nft[link]["drop_out"], 0)
                self.assertEqual(dl[link]["out"]["stalls"], 1)
                self.assertGreater(dl[link]["out"]["reordered"], 0)
        c = s["client"]
        self.assertGreaterEqual(c["smtp"]["sessions"], 0.9 * 2 * duration)
        self.assertGreaterEqual(c["smtp"]["delivered"], 0.95 * c["smtp"]["sessions"])
        self.assertGreaterEqual(c["dns"]["lookups"], 0.9 * 2 * duration)

    def test_noise_is_not_degradation(self):
        s = self.soak(NOISE_S, seed=31)
        self.assert_noise_was_there(s, NOISE_S)
        # What issue 10 describes is there: connects slowed by a lost SYN or SYN-ACK.
        self.assertGreaterEqual(s["client"]["smtp"]["mx1_connects_over_0.9s"], 1)
        for name, t in s["targets"].items():
            with self.subTest(target=name):
                self.assertLessEqual(t["degraded_transitions"], 1, t["transitions"])
                self.assertEqual(t["down_transitions"], 0, t["transitions"])
                self.assertLessEqual(t["fraction_in_state"].get("DEGRADED", 0), 0.25,
                                     t["seconds_in_state"])
        self.assertEqual(s["failovers"], 0, s["hook_events"])
        self.assertEqual(s["effective_mx"]["changes"], 0, s["effective_mx"]["sequence"])
        self.assertEqual(set(s["effective_mx"]["seconds"]), {MX1}, s["effective_mx"])

    def test_outage_during_noise(self):
        hold, fault, length = 30.0, 45.0, 50.0
        recovery = fault + length
        s = self.soak(recovery + hold + 2 * WINDOW + 60, seed=32, outage=(fault, length),
                      failback_hold=hold, stop_at_failback=True)
        o = s["outage"]
        with self.subTest("DOWN within 3 windows of the fault"):
            self.assertIsNotNone(o["fault_to_down_s"])
            self.assertLessEqual(o["fault_to_down_s"], 3 * WINDOW)
        with self.subTest("failover within 3 windows of the fault"):
            self.assertIsNotNone(o["fault_to_failover_s"])
            self.assertLessEqual(o["fault_to_failover_s"], 3 * WINDOW)
        with self.subTest("failback within failback_hold + 2 windows of the recovery"):
            self.assertIsNotNone(o["recovery_to_failback_s"])
            self.assertLessEqual(o["recovery_to_failback_s"], hold + 2 * WINDOW)
        self.assertEqual(s["failovers"], 1, s["hook_events"])
        self.assertGreater(s["noise_applied"]["nft"]["m1"]["rst"], 0)


if __name__ == "__main__":
    unittest.main()
