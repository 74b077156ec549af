package org.jqemu.target.i386;

/**
 * The dynamic translator's view of guest stores (self-modifying code). The CPU never caches a write TLB
 * entry for a page for which {@link #holdsCode} is true, so every store to such a page takes the slow
 * path and is reported to {@link #codeWritten}; stores to other pages cost nothing extra.
 */
public interface CodeWatcher {
    /** Whether the page with this physical page number (address >>> 12) holds translated code. */
    boolean holdsCode(long physPage);

    /** A store of {@code size} bytes at physical address {@code phys} hit a page holding code (after the store). */
    void codeWritten(long phys, int size);

    /** The CPU dropped TLB entries (all, or one page with INVLPG): mappings may have changed (mmap, munmap, mprotect, CR3). */
    void mappingsChanged();

    /**
     * INVLPG dropped the TLB entries of the page holding linear address {@code linear}: only code
     * fetched through that page (or the large page around it) may now map elsewhere. By default the
     * same as {@link #mappingsChanged}.
     */
    default void pageMappingChanged(long linear) { mappingsChanged(); }

    /**
     * MOV to CR3: translations of pages not marked global (G with CR4.PGE) may have changed; global ones
     * may be kept, as a TLB may keep them (SDM Vol. 3, 4.10.4.1). By default the same as {@link #mappingsChanged}.
     */
    default void addressSpaceChanged() { mappingsChanged(); }
}
