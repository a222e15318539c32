; dirtier.asm - the kvmigrate test guest: a boot sector that keeps dirtying guest RAM
; in a pattern whose consistency can be checked on a paused VM (see TestGuest.java,
; IntegrityCheck.java).
;
; Build: nasm -f bin -o dirtier.bin dirtier.asm   (the result must be exactly 512 bytes)
;
; The loop runs in 64-bit long mode at ring 3 (identity-mapped 4 GiB, IOPL 3, interrupts
; off). Why not 32-bit protected mode: on hosts using kvm_pvm (software virtualization by
; shadow paging, as on this project's CI machines) only 64-bit user-mode guest code runs
; natively; real mode, 32-bit and ring-0 code are emulated, about 1000x slower. Addresses
; are identity-mapped, so every address below is both virtual and physical.
;
; Layout of a page of the span after the fill pass:
;   dword0 = number of the last pass that wrote the page
;   dword1 = page index XOR 0x4B564D47 ("GMVK")
;   dwords 2..1023 = (page index * 0x9E3779B9) XOR seed, the same dword repeated, written once
;                    in the fill pass (mode 0); or consecutive xorshift32 outputs, the state
;                    carried from page to page and pass to pass, rewritten every pass (mode 1)
; So every byte of a page follows from its index, the pass that wrote it and the seed.
; Status block at 0x600: "KVMC", pass in progress (0x604), page being written (0x608).

bits 16
org 0x7C00

STATUS   equ 0x600
PASS     equ 0x604
PAGE     equ 0x608
PML4     equ 0x1000             ; page tables 0x1000-0x6FFF: PML4, PDPT, 4 PDs of 2 MiB pages
PDPT     equ 0x2000
PD       equ 0x3000
PAGE_TAG equ 0x4B564D47
GOLDEN   equ -0x61C88647        ; 0x9E3779B9 as a signed imm32: spreads page indexes over the dword
COM1     equ 0x3F8
PARAMS   equ 0x1E0              ; offset of the parameter block in the sector; Java patches it
START    equ 4                  ; field offsets inside the parameter block
PAGES    equ 8
DELAY    equ 12
MODE     equ 16
SEED     equ 20

start:
    cli
    cld
    jmp 0:.cs0                  ; some BIOSes enter at 07C0:0000; force CS=0 to match org
.cs0:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    cmp dword [p_magic], 'KVMG'
    jne halt                    ; mis-patched image: never show the status magic
    in al, 0x92                 ; fast A20 (bit 1); never set bit 0, it resets the machine
    or al, 2
    and al, 0xFE
    out 0x92, al

    mov di, PML4                ; zero all tables, then set the present entries
    xor eax, eax
    mov cx, (PD + 0x4000 - PML4) / 4
    rep stosd
    mov dword [PML4], PDPT | 7  ; present, writable, user
    mov di, PDPT
    mov eax, PD | 7
.pdpt:
    mov [di], eax
    add di, 8
    add ah, 0x10                ; next PD, 4 KiB further
    cmp di, PDPT + 4 * 8
    jb .pdpt
    mov di, PD
    mov eax, 0x87               ; present, writable, user, 2 MiB page at 0
.pd:
    mov [di], eax
    add di, 8
    add eax, 0x200000
    jnc .pd                     ; carry after the 2048th entry: 4 GiB mapped

    mov eax, cr4
    or al, 0x20                 ; PAE
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xC0000080         ; EFER
    rdmsr
    or ah, 1                    ; LME
    wrmsr
    lgdt [gdt_desc]
    mov eax, cr0
    or eax, 0x80000001          ; PG + PE: straight from real mode into long mode
    mov cr0, eax
    jmp 0x08:long_mode

halt:
    hlt
    jmp halt

bits 64
long_mode:                      ; DS/ES/SS keep their real-mode selectors: 64-bit mode ignores them
    xor eax, eax
    mov [PASS], eax
    mov [PAGE], eax
    mov dword [STATUS], 'KVMC'  ; last: once the magic is visible, pass/page are valid
    ; COM1 gets no setup: QEMU's 16550 works as it comes, and interrupts stay off.
    push 0x13                   ; ss: ring-3 data
    push 0x7C00                 ; rsp
    push 0x3002                 ; rflags: IOPL 3 (COM1 from ring 3), IF 0
    push 0x1B                   ; cs: ring-3 code
    push user
    iretq                       ; to ring 3, where kvm_pvm runs the guest natively

user:
    mov ebp, params             ; rbp = parameter block: short [rbp+n] operands
    mov r15d, [rbp+SEED]        ; r15d = xorshift32 state, carried across pages and passes
    xor esi, esi                ; esi = pass number
    call do_pass                ; pass 0: fill
    mov ebx, ready_msg
    call puts
.next:
    inc esi
    mov [PASS], esi             ; the pass counter first, then the pages
    call do_pass
    jmp .next

; One pass over the span; esi = pass number. Clobbers eax, ebx, ecx, edx, rdi.
do_pass:
    xor ebx, ebx                ; ebx = page index
    mov edi, [rbp+START]        ; rdi = page address (zero-extended)
.page:
    mov [PAGE], ebx
    test esi, esi
    jz .full                    ; the fill pass writes whole pages in both modes
    cmp dword [rbp+MODE], 0
    je .header                  ; mode 0: the header store alone dirties the page
.full:
    call fill_body
    mov eax, ebx
    xor eax, PAGE_TAG
    mov [rdi+4], eax
.header:
    mov [rdi], esi              ; the single store that moves the page across the boundary
    test esi, esi
    jz .next_page               ; no delay in the fill pass: reach READY quickly
    mov ecx, [rbp+DELAY]
    jecxz .next_page            ; delay 0 must not mean 2^32 turns
.delay:
    dec ecx
    jnz .delay
.next_page:
    add rdi, 4096
    inc ebx
    cmp ebx, [rbp+PAGES]
    jb .page
    ret

; Fills dwords 2..1023 of the page at rdi. The header is written only afterwards, so a
; paused vCPU never leaves a half-written header behind. Clobbers eax, ecx, edx, r15d.
fill_body:
    push rdi
    add rdi, 8
    mov ecx, 1022
    cmp dword [rbp+MODE], 0
    jne .random
    imul eax, ebx, GOLDEN       ; page index in ebx (do_pass)
    xor eax, [rbp+SEED]
    rep stosd
    pop rdi
    ret
.random:
    mov eax, r15d
.xorshift:                      ; x ^= x << 13; x ^= x >> 17; x ^= x << 5
    mov edx, eax
    shl edx, 13
    xor eax, edx
    mov edx, eax
    shr edx, 17
    xor eax, edx
    mov edx, eax
    shl edx, 5
    xor eax, edx
    stosd
    dec ecx
    jnz .xorshift
    mov r15d, eax
    pop rdi
    ret

; Writes the NUL-terminated string at rbx to COM1, polling LSR bit 5 (THR empty).
puts:
    mov dx, COM1+5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, [rbx]
    test al, al
    jz .done
    mov dx, COM1
    out dx, al
    inc ebx
    jmp puts
.done:
    ret

ready_msg:
    db 'KVMIGRATE-GUEST READY', 13, 10, 0

gdt:                            ; the null descriptor's bytes are never read: gdt_desc lives there
    dw 0
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt
    dq 0x00AF9A000000FFFF       ; 0x08: ring-0 code, 64-bit
    dq 0x00CFF2000000FFFF       ; 0x10: ring-3 data
    dq 0x00AFFA000000FFFF       ; 0x18: ring-3 code, 64-bit
gdt_end:

; Parameter block at the fixed offset 0x1E0 (physical 0x7DE0); all fields little-endian.
    times PARAMS - ($ - $$) db 0
params:
p_magic: db 'KVMG'
p_start: dd 0x00100000          ; physical address of the span
p_pages: dd 8192                ; 4 KiB pages in the span (32 MiB)
p_delay: dd 0                   ; dec/jnz turns after each page in passes >= 1
p_mode:  dd 0                   ; 0 = one dword per page repeated, 1 = xorshift32 output
p_seed:  dd 0x2545F491          ; xorshift32 seed, nonzero

    times 510 - ($ - $$) db 0
    dw 0xAA55
