package org.jqemu.linuxuser;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * futex(2) wait queues. A futex is named by its address space and address (private and shared futexes
 * coincide here: processes never share pages, so a shared futex is only ever used within one space).
 * One monitor guards every queue: a waiter checks the futex word and enqueues under it, and wakers take
 * it too, so no wake-up is lost between the check and the sleep.
 */
final class Futexes {
    static final int ETIMEDOUT = 110;

    private static final class Waiter {
        final GuestMemory space;
        long address;
        final int bitset;
        boolean woken;

        Waiter(GuestMemory space, long address, int bitset) {
            this.space = space;
            this.address = address;
            this.bitset = bitset;
        }
    }

    private final List<Waiter> waiters = new ArrayList<>();

    /**
     * FUTEX_WAIT(_BITSET): sleeps while the word at {@code address} equals {@code expected}, until woken
     * or {@code deadlineNanos} (System.nanoTime; Long.MAX_VALUE for none). 0, -EAGAIN, -ETIMEDOUT, or
     * -ERESTARTSYS for a signal.
     */
    long wait(GuestProcess process, long address, int expected, int bitset, long deadlineNanos) {
        if ((address & 3) != 0) {
            return -Errno.EINVAL;
        }
        GuestMemory space = process.memory;
        synchronized (this) {
            if (space.readInt(address) != expected) {
                return -Errno.EAGAIN;
            }
            Waiter w = new Waiter(space, address, bitset);
            waiters.add(w);
            try {
                while (!w.woken) {
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) {
                        return -ETIMEDOUT;
                    }
                    long millis = deadlineNanos == Long.MAX_VALUE ? 0 : Math.max(1, left / 1_000_000);
                    long r = GuestThread.await(this, millis);
                    if (r < 0 && !w.woken) {
                        return r;
                    }
                }
                return 0;
            } finally {
                waiters.remove(w);
            }
        }
    }

    /** FUTEX_WAKE(_BITSET): wakes up to {@code count} waiters on the futex; returns how many. */
    synchronized int wake(GuestProcess process, long address, int count, int bitset) {
        int woken = 0;
        GuestMemory space = process.memory;
        for (Waiter w : waiters) {
            if (woken >= count) {
                break;
            }
            if (!w.woken && w.space == space && w.address == address && (w.bitset & bitset) != 0) {
                w.woken = true;
                woken++;
            }
        }
        if (woken > 0) {
            notifyAll();
        }
        return woken;
    }

    /**
     * FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes {@code wakeCount} waiters of {@code address}, moves up to
     * {@code requeueCount} of the rest to {@code target}. With {@code compare}, the word must equal {@code expected}.
     */
    synchronized long requeue(GuestProcess process, long address, int wakeCount, int requeueCount, long target,
                              boolean compare, int expected) {
        GuestMemory space = process.memory;
        if (compare && space.readInt(address) != expected) {
            return -Errno.EAGAIN;
        }
        int woken = wake(process, address, wakeCount, -1);
        int moved = 0;
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext() && moved < requeueCount; ) {
            Waiter w = it.next();
            if (!w.woken && w.space == space && w.address == address) {
                w.address = target;
                moved++;
            }
        }
        return woken + (compare ? moved : 0);
    }
}
